"""What scoring finds: error counts of a corpus, a speaker and an utterance, and word alignments.

The data of asr.evaluate.scoring (which computes it) and asr.evaluate.report (which renders it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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


def align_lines(out, index: int) -> tuple[str, str, str]:
    """REF, HYP and an error-marker line for utterance ``index`` of a jiwer WordOutput, column-aligned."""
    return format_alignment(aligned_pairs(out, index))


def format_alignment(pairs: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """Aligned pairs as REF / HYP / marks lines: errors upper-case, ``***`` for the missing side."""
    ref_cols, hyp_cols, marks = [], [], []
    for kind, r, h in pairs:
        if kind == "equal":
            ref_cols.append(r)
            hyp_cols.append(h)
        else:
            ref_cols.append(r.upper() if r else "*" * len(h))
            hyp_cols.append(h.upper() if h else "*" * len(r))
        marks.append("" if kind == "equal" else kind)
    widths = [max(len(r), len(h)) for r, h in zip(ref_cols, hyp_cols, strict=True)]
    fmt = lambda cols: " ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()  # noqa: E731
    return fmt(ref_cols), fmt(hyp_cols), fmt(marks)


def aligned_pairs(out, index: int) -> list[tuple[str, str, str]]:
    """``(kind, ref_word, hyp_word)`` in order; kind is ``equal``, ``S``, ``D`` (hyp '') or ``I`` (ref '')."""
    ref_words, hyp_words = out.references[index], out.hypotheses[index]
    pairs = []
    for chunk in out.alignments[index]:
        refs = ref_words[chunk.ref_start_idx:chunk.ref_end_idx]
        hyps = hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]
        if chunk.type in ("equal", "substitute"):
            kind = "equal" if chunk.type == "equal" else "S"
            pairs.extend((kind, r, h) for r, h in zip(refs, hyps, strict=True))
        elif chunk.type == "delete":
            pairs.extend(("D", r, "") for r in refs)
        elif chunk.type == "insert":
            pairs.extend(("I", "", h) for h in hyps)
    return pairs


@dataclass
class UttScore:
    utt: str
    speaker: str
    ref: str
    hyp: str
    ref_words: int
    substitutions: int
    deletions: int
    insertions: int
    pairs: list[tuple[str, str, str]] = field(repr=False)  # aligned (kind, ref, hyp), see aligned_pairs

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        return self.errors / self.ref_words


@dataclass
class SpeakerScore:
    speaker: str
    num_utts: int
    ref_words: int
    substitutions: int
    deletions: int
    insertions: int
    wer: float


@dataclass
class Evaluation:
    report: ScoreReport
    utts: list[UttScore]  # sorted by id
    speakers: list[SpeakerScore]  # worst WER first
    substitutions: list[tuple[str, str, int]]  # (ref word, hyp word, count), most frequent first
    insertions: list[tuple[str, int]]
    deletions: list[tuple[str, int]]
    warnings: list[str]

    def summary(self, audio: dict[str, str] | None = None) -> dict:
        """Everything as plain JSON types."""
        return {
            **asdict(self.report),
            "speakers": [asdict(s) for s in self.speakers],
            "top_errors": {
                "substitutions": [{"ref": r, "hyp": h, "count": c} for r, h, c in self.substitutions],
                "insertions": [{"hyp": w, "count": c} for w, c in self.insertions],
                "deletions": [{"ref": w, "count": c} for w, c in self.deletions],
            },
            "utterances": [{"utt": u.utt, "speaker": u.speaker, "ref": u.ref, "hyp": u.hyp,
                            "ref_words": u.ref_words, "substitutions": u.substitutions, "deletions": u.deletions,
                            "insertions": u.insertions, "wer": u.wer,
                            **({"audio": audio[u.utt]} if audio and u.utt in audio else {})} for u in self.utts],
            "warnings": self.warnings,
        }
