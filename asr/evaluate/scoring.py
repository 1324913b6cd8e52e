"""Word and character error rates with jiwer: totals, per speaker, per utterance, most frequent errors.

:func:`evaluate` computes everything (an :class:`Evaluation`); :func:`score` also writes it:

    wer.json      totals (WER/CER counts), as before
    summary.json  everything, for machines: totals, per speaker, top errors, per utterance, warnings
    per_utt.txt   aligned REF/HYP per utterance, worst first
    report.md     for people, and report.html (self-contained, audio playable)

The result types are in asr.evaluate.results, the files are written by asr.evaluate.report.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict
from pathlib import Path

import jiwer

from asr.evaluate.report import write_outputs
from asr.evaluate.results import (
    ErrorCounts,
    Evaluation,
    ScoreReport,
    SpeakerScore,
    UttScore,
    aligned_pairs,
)
from asr.io import InputError, read_text

log = logging.getLogger(__name__)

TOP_ERRORS = 20


class ScoringError(InputError):
    pass


class Transcripts(dict):
    """``utt -> text`` read from a file; remembers the file and each utterance's line for messages."""

    def __init__(self, path: str | os.PathLike | None = None):
        super().__init__()
        self.path = str(path) if path is not None else None
        self.line: dict[str, int] = {}

    def where(self, utt: str) -> str:
        if self.path is None:
            return f"utterance {utt!r}"
        return f"{self.path}:{self.line.get(utt, '?')}: utterance {utt!r}"


def _where(transcripts: dict[str, str], utt: str) -> str:
    return transcripts.where(utt) if isinstance(transcripts, Transcripts) else f"utterance {utt!r}"


def _counts(out, ref_len: int) -> ErrorCounts:
    errors = out.substitutions + out.deletions + out.insertions
    return ErrorCounts(errors / ref_len, out.substitutions, out.deletions, out.insertions, out.hits, ref_len)


def read_transcripts(path: str | os.PathLike) -> Transcripts:
    """``<utt> <words>`` per line -> dict; an utterance with no words maps to ''. A file with no line is an error."""
    out = Transcripts(path)
    if Path(path).is_dir():
        raise ScoringError(f"{path}: a directory, not a transcript file (a data dir's transcripts are DIR/text)")
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        if parts[0] in out:
            raise ScoringError(f"{path}:{lineno}: duplicate utterance id {parts[0]!r}")
        out[parts[0]] = " ".join(parts[1].split()) if len(parts) > 1 else ""
        out.line[parts[0]] = lineno
    if not out:
        raise ScoringError(f"{path}: no transcripts (empty file)")
    return out


def read_utt2spk(path: str | os.PathLike) -> dict[str, str]:
    """A data directory's ``utt2spk`` (``<utt> <speaker>`` per line)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise ScoringError(f"{path}:{lineno}: expected '<utt> <speaker>', got {line.strip()!r}")
            out[parts[0]] = parts[1]
    return out


def _examples(utts: list[str], where) -> str:
    shown = "; ".join(where(u) for u in utts[:5])
    return shown + (f"; and {len(utts) - 5} more" if len(utts) > 5 else "")


def evaluate(refs: dict[str, str], hyps: dict[str, str], utt2spk: dict[str, str] | None = None,
             top: int = TOP_ERRORS) -> Evaluation:
    """Score ``hyps`` against ``refs`` (both utt -> normalized text).

    Every reference must be non-empty (else ScoringError naming file:line and utterance); a missing
    hypothesis counts as empty (all deletions) and an empty one is scored as such, both with a
    warning naming the utterances; a hypothesis for an unknown utterance is an error.
    """
    if not refs:
        raise ScoringError("no reference transcripts to score against")
    extra = sorted(set(hyps) - set(refs))
    if extra:
        raise ScoringError(f"{len(extra)} hypotheses have no reference: {_examples(extra, lambda u: _where(hyps, u))}")
    empty = sorted(u for u, t in refs.items() if not t.strip())
    if empty:
        raise ScoringError(f"{len(empty)} empty reference(s), which cannot be scored: "
                           f"{_examples(empty, lambda u: _where(refs, u))}")
    warnings = []
    missing = sorted(set(refs) - set(hyps))
    if missing:
        warnings.append(f"{len(missing)} utterance(s) have no hypothesis and count as all deletions: "
                        f"{_examples(missing, repr)}")
    empty_hyp = sorted(u for u in set(refs) & set(hyps) if not hyps[u].strip())
    if empty_hyp:
        warnings.append(f"{len(empty_hyp)} hypothesis/es are empty (all deletions): "
                        f"{_examples(empty_hyp, lambda u: _where(hyps, u))}")
    if utt2spk is not None:
        no_spk = sorted(set(refs) - set(utt2spk))
        if no_spk:
            warnings.append(f"{len(no_spk)} utterance(s) have no speaker in utt2spk: {_examples(no_spk, repr)}")
    for w in warnings:
        log.warning("%s", w)

    utt_ids = sorted(refs)
    ref_list = [refs[u] for u in utt_ids]
    hyp_list = [hyps.get(u, "") for u in utt_ids]
    words = jiwer.process_words(ref_list, hyp_list)
    chars = jiwer.process_characters(ref_list, hyp_list)
    n_words = sum(len(r.split()) for r in ref_list)
    report = ScoreReport(len(utt_ids), _counts(words, n_words), _counts(chars, sum(len(r) for r in ref_list)))

    utts, subs, ins, dels = [], Counter(), Counter(), Counter()
    for i, u in enumerate(utt_ids):
        pairs = aligned_pairs(words, i)
        kinds = Counter(k for k, _, _ in pairs)
        spk = (utt2spk or {}).get(u, "")
        utts.append(UttScore(u, spk, refs[u], hyp_list[i], len(words.references[i]), kinds["S"], kinds["D"],
                             kinds["I"], pairs))
        for k, r, h in pairs:
            if k == "S":
                subs[(r, h)] += 1
            elif k == "D":
                dels[r] += 1
            elif k == "I":
                ins[h] += 1

    speakers = []
    if utt2spk is not None:
        by_spk: dict[str, list[UttScore]] = defaultdict(list)
        for us in utts:
            by_spk[us.speaker or "(none)"].append(us)
        for spk, group in by_spk.items():
            n = sum(g.ref_words for g in group)
            s, d, i = (sum(getattr(g, a) for g in group) for a in ("substitutions", "deletions", "insertions"))
            speakers.append(SpeakerScore(spk, len(group), n, s, d, i, (s + d + i) / n))
        speakers.sort(key=lambda s: (-s.wer, s.speaker))

    def most(counter: Counter) -> list:
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]

    return Evaluation(report, utts, speakers, [(r, h, c) for (r, h), c in most(subs)], most(ins), most(dels),
                      warnings)


def score(refs: dict[str, str], hyps: dict[str, str], out_dir: str | os.PathLike | None = None,
          utt2spk: dict[str, str] | None = None, audio: dict[str, str] | None = None,
          title: str = "") -> ScoreReport:
    """:func:`evaluate`, and with ``out_dir`` write wer.json, summary.json, per_utt.txt, report.md and
    report.html there (``audio``: utt -> audio path, for the HTML players)."""
    ev = evaluate(refs, hyps, utt2spk)
    if out_dir is not None:
        write_outputs(ev, out_dir, audio=audio, title=title)
    return ev.report


def format_report(report: ScoreReport) -> str:
    w, c = report.wer, report.cer
    return (f"%WER {100 * w.error_rate:.2f} [ {w.substitutions + w.deletions + w.insertions} / {w.ref_len}, "
            f"{w.insertions} ins, {w.deletions} del, {w.substitutions} sub ]  "
            f"%CER {100 * c.error_rate:.2f} [ {c.substitutions + c.deletions + c.insertions} / {c.ref_len}, "
            f"{c.insertions} ins, {c.deletions} del, {c.substitutions} sub ]  ({report.num_utts} utterances)")
