"""Transcripts as files: plain text, JSON, SubRip, WebVTT and a word table.

    txt   one line per segment
    json  {"source", "duration", "text", "segments": [{"start", "end", "text", "words": [{"word",
          "start", "end", "confidence"}]}]}, times in seconds
    srt   subtitles; a segment is split into cues of at most CUE_CHARS characters / CUE_SECONDS
    vtt   the same cues as WebVTT
    tsv   one word per line: start<TAB>end<TAB>word (seconds), with a header line
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from asr.io import atomic_write_text
from asr.transcribe.result import Transcript

FORMATS = ("txt", "json", "srt", "vtt", "tsv")
CUE_CHARS = 84  # two subtitle lines of 42 characters
CUE_SECONDS = 7.0


def to_txt(t: Transcript) -> str:
    return "".join(s.text + "\n" for s in t.segments)


def to_json(t: Transcript) -> str:
    return json.dumps(t.to_dict(), ensure_ascii=False, indent=1) + "\n"


def cues(t: Transcript, max_chars: int = CUE_CHARS, max_seconds: float = CUE_SECONDS) -> list[tuple[float, float, str]]:
    """``(start, end, text)`` subtitle cues: each segment's words, split where a cue would grow too long."""
    out = []
    for seg in t.segments:
        if not seg.words:
            out.append((seg.start, seg.end, seg.text))
            continue
        group = [seg.words[0]]
        for w in seg.words[1:]:
            text_len = sum(len(x.word) + 1 for x in group) + len(w.word)
            if text_len > max_chars or w.end - group[0].start > max_seconds:
                out.append((group[0].start, group[-1].end, " ".join(x.word for x in group)))
                group = []
            group.append(w)
        out.append((group[0].start, group[-1].end, " ".join(x.word for x in group)))
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(t: Transcript) -> str:
    return "".join(f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{text}\n\n"
                   for i, (a, b, text) in enumerate(cues(t), start=1))


def to_vtt(t: Transcript) -> str:
    return "WEBVTT\n\n" + "".join(f"{_clock(a, '.')} --> {_clock(b, '.')}\n{text}\n\n" for a, b, text in cues(t))


def to_tsv(t: Transcript) -> str:
    return "start\tend\tword\n" + "".join(f"{w.start:.3f}\t{w.end:.3f}\t{w.word}\n" for w in t.words)


WRITERS = {"txt": to_txt, "json": to_json, "srt": to_srt, "vtt": to_vtt, "tsv": to_tsv}


def render(t: Transcript, fmt: str) -> str:
    return WRITERS[fmt](t)


def write_outputs(t: Transcript, out_dir: str | os.PathLike, stem: str, formats: list[str]) -> list[Path]:
    """Write ``out_dir/<stem>.<fmt>`` for each format, each atomically (asr.io)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [atomic_write_text(out / f"{stem}.{fmt}", render(t, fmt)) for fmt in formats]
