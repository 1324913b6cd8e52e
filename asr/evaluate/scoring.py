"""Word and character error rates with jiwer, and per-utterance aligned REF/HYP listings."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import jiwer


class ScoringError(ValueError):
    pass


@dataclass
class ErrorCounts:
    error_rate: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    ref_len: int


@dataclass
class ScoreReport:
    num_utts: int
    wer: ErrorCounts
    cer: ErrorCounts


def _counts(out, ref_len: int) -> ErrorCounts:
    errors = out.substitutions + out.deletions + out.insertions
    return ErrorCounts(errors / ref_len, out.substitutions, out.deletions, out.insertions, out.hits, ref_len)


def read_transcripts(path: str | os.PathLike) -> dict[str, str]:
    """``<utt> <words>`` per line -> dict; an utterance with no words maps to ''."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip("\n").split(maxsplit=1)
            if not parts:
                continue
            if parts[0] in out:
                raise ScoringError(f"{path}:{lineno}: duplicate utterance id {parts[0]!r}")
            out[parts[0]] = " ".join(parts[1].split()) if len(parts) > 1 else ""
    return out


def align_lines(out, index: int) -> tuple[str, str, str]:
    """REF, HYP and an error-marker line for utterance ``index`` of a jiwer WordOutput, column-aligned."""
    ref_words, hyp_words = out.references[index], out.hypotheses[index]
    ref_cols, hyp_cols, marks = [], [], []
    for chunk in out.alignments[index]:
        if chunk.type == "equal" or chunk.type == "substitute":
            for r, h in zip(ref_words[chunk.ref_start_idx:chunk.ref_end_idx],
                            hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx], strict=True):
                ref_cols.append(r if chunk.type == "equal" else r.upper())
                hyp_cols.append(h if chunk.type == "equal" else h.upper())
                marks.append("" if chunk.type == "equal" else "S")
        elif chunk.type == "delete":
            for r in ref_words[chunk.ref_start_idx:chunk.ref_end_idx]:
                ref_cols.append(r.upper())
                hyp_cols.append("*" * len(r))
                marks.append("D")
        elif chunk.type == "insert":
            for h in hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]:
                ref_cols.append("*" * len(h))
                hyp_cols.append(h.upper())
                marks.append("I")
    widths = [max(len(r), len(h)) for r, h in zip(ref_cols, hyp_cols, strict=True)]
    fmt = lambda cols: " ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()  # noqa: E731
    return fmt(ref_cols), fmt(hyp_cols), fmt(marks)


def score(refs: dict[str, str], hyps: dict[str, str], out_dir: str | os.PathLike | None = None) -> ScoreReport:
    """Score ``hyps`` against ``refs`` (both utt -> normalized text).

    Every reference utterance must have a non-empty reference; a missing hypothesis counts as
    empty (all deletions), a hypothesis for an unknown utterance is an error. With ``out_dir``,
    writes ``wer.json`` (summary) and ``per_utt.txt`` (aligned REF/HYP per utterance, worst first).
    """
    if not refs:
        raise ScoringError("no reference transcripts to score against")
    extra = sorted(set(hyps) - set(refs))
    if extra:
        raise ScoringError(f"{len(extra)} hypotheses have no reference, e.g. {extra[:3]}")
    empty = [u for u, t in refs.items() if not t.strip()]
    if empty:
        raise ScoringError(f"{len(empty)} references are empty (cannot score), e.g. {empty[:3]}")
    utts = sorted(refs)
    ref_list = [refs[u] for u in utts]
    hyp_list = [hyps.get(u, "") for u in utts]
    words = jiwer.process_words(ref_list, hyp_list)
    chars = jiwer.process_characters(ref_list, hyp_list)
    n_words = sum(len(r.split()) for r in ref_list)
    n_chars = sum(len(r) for r in ref_list)
    report = ScoreReport(len(utts), _counts(words, n_words), _counts(chars, n_chars))
    if out_dir is not None:
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        (d / "wer.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
        per_utt = []
        for i, u in enumerate(utts):
            ref_n = len(words.references[i])
            r, h, m = align_lines(words, i)
            errs = len(m.split())  # one S/D/I mark per word error
            per_utt.append((errs / max(ref_n, 1), u, r, h, m))
        with open(d / "per_utt.txt", "w", encoding="utf-8") as f:
            for rate, u, r, h, m in sorted(per_utt, key=lambda x: (-x[0], x[1])):
                f.write(f"{u} wer={100 * rate:.1f}%\nREF: {r}\nHYP: {h}\n     {m}\n\n")
    return report


def format_report(report: ScoreReport) -> str:
    w, c = report.wer, report.cer
    return (f"%WER {100 * w.error_rate:.2f} [ {w.substitutions + w.deletions + w.insertions} / {w.ref_len}, "
            f"{w.insertions} ins, {w.deletions} del, {w.substitutions} sub ]  "
            f"%CER {100 * c.error_rate:.2f} [ {c.substitutions + c.deletions + c.insertions} / {c.ref_len}, "
            f"{c.insertions} ins, {c.deletions} del, {c.substitutions} sub ]  ({report.num_utts} utterances)")
