"""Kaldi-style data directories: read, write and validate.

A data directory holds one utterance per line in each of these files, sorted by utterance id:

- ``wav.scp``  ``<utt> <path>``   audio path (absolute, or relative to the data directory)
- ``text``     ``<utt> <words>``  transcript (normalized words)
- ``utt2spk``  ``<utt> <spk>``
- ``spk2utt``  ``<spk> <utt> <utt> ...``
- ``utt2dur``  ``<utt> <seconds>``
- ``segments`` ``<utt> <recording> <start> <end>`` (optional) utterances as stretches of recordings: then
  ``wav.scp`` lists recordings, not utterances; ``end`` -1 is the end of the recording

This module is the only place that knows those file formats. Commands that read audio honour
``segments`` (features, decode, tune-lm, validate-data) or refuse the directory (``read_datadir``'s
``segments`` argument): never is a whole recording silently used for each of its utterances.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asr.data.rates import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from asr.io import InputError, atomic_path, utf8_lines

log = logging.getLogger(__name__)

REQUIRED_FILES = ("wav.scp", "text", "utt2spk")
OPTIONAL_FILES = ("utt2dur", "spk2utt")
SEGMENTS = "segments"
BOM = "\ufeff"


class DataDirError(InputError):
    """A data directory file is malformed; the message names the file and line."""


@dataclass
class DataDir:
    """An in-memory data directory: dicts keyed by utterance id."""

    wav: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    utt2spk: dict[str, str] = field(default_factory=dict)
    utt2dur: dict[str, float] = field(default_factory=dict)
    root: Path | None = None  # directory relative wav paths are resolved against
    # From a segments file: utt -> (start, end) seconds in the recording that wav[utt] names (end -1: to its end).
    segments: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def utt_ids(self) -> list[str]:
        return sorted(self.wav)

    def __len__(self) -> int:
        return len(self.wav)

    def audio_path(self, utt: str) -> Path:
        p = Path(self.wav[utt])
        if not p.is_absolute() and self.root is not None:
            p = self.root / p
        return p

    def span(self, utt: str) -> tuple[float, float | None]:
        """``(start, end)`` seconds of the utterance in its audio file (``(0, None)``: all of it)."""
        if utt in self.segments:
            start, end = self.segments[utt]
            return start, (None if end < 0 else end)
        return 0.0, None

    def spk2utt(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for utt in sorted(self.utt2spk):
            out[self.utt2spk[utt]].append(utt)
        return dict(sorted(out.items()))

    def total_hours(self) -> float:
        return sum(self.utt2dur.values()) / 3600.0

    def add_copy(self, src: DataDir, utt: str, prefix: str, wav: str, seconds: float) -> str:
        """Add a modified copy of ``src``'s ``utt`` (same text) as ``<prefix>-<utt>``, spoken by speaker
        ``<prefix>-<spk>`` (Kaldi's convention for perturbed copies: a copy is a new speaker); return its id."""
        new = f"{prefix}-{utt}"
        self.wav[new] = wav
        self.text[new] = src.text[utt]
        self.utt2spk[new] = f"{prefix}-{src.utt2spk[utt]}"
        self.utt2dur[new] = seconds
        return new

    def subset(self, utts: list[str] | set[str]) -> DataDir:
        keep = set(utts)
        return DataDir(
            wav={u: p for u, p in self.wav.items() if u in keep},
            text={u: t for u, t in self.text.items() if u in keep},
            utt2spk={u: s for u, s in self.utt2spk.items() if u in keep},
            utt2dur={u: d for u, d in self.utt2dur.items() if u in keep},
            root=self.root,
            segments={u: s for u, s in self.segments.items() if u in keep},
        )


def read_table(path: Path, allow_empty_value: bool = False) -> list[tuple[int, str, str]]:
    """Read ``<key> <value>`` lines as (line_number, key, value); raises DataDirError on bad lines."""
    rows = []
    for lineno, line in _lines(path):
        if not line.strip():
            raise DataDirError(f"{path}:{lineno}: empty line")
        parts = line.split(maxsplit=1)
        key = parts[0]
        value = parts[1].strip() if len(parts) > 1 else ""
        if not value and not allow_empty_value:
            raise DataDirError(f"{path}:{lineno}: utterance {key!r} has no value")
        rows.append((lineno, key, value))
    return rows


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 table, streamed (asr.io.utf8_lines); a byte-order mark is dropped
    with a warning (else it would become part of the first id)."""
    def warn() -> None:
        log.warning("%s: starts with a byte-order mark; ignored (save the file as UTF-8 without BOM)", path)

    for lineno, line in utf8_lines(path, DataDirError, on_bom=warn):
        yield lineno, line.rstrip("\n").rstrip("\r")


def _as_dict(path: Path, allow_empty_value: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for lineno, key, value in read_table(path, allow_empty_value):
        if key in out:
            raise DataDirError(f"{path}:{lineno}: duplicate id {key!r}")
        out[key] = value
    return out


def parse_segment(utt: str, value: str) -> tuple[str, float, float] | str:
    """``(recording, start, end)`` of a segments line's fields after the id, or what is wrong with them."""
    parts = value.split()
    try:
        if len(parts) != 3:
            raise ValueError
        start, end = float(parts[1]), float(parts[2])
    except ValueError:
        return f"expected '<utt> <recording> <start> <end>', got {utt} {value!r}"
    if not (start >= 0 and (end > start or end == -1)):
        return (f"segment {utt!r} has start {start:g} and end {end:g} s (needs 0 <= start < end, or end -1 for "
                "the end of the recording)")
    return parts[0], start, end


def read_segments(path: Path) -> dict[str, tuple[str, float, float, int]]:
    """``utt -> (recording, start, end, line)`` of a segments file; DataDirError naming the line if malformed."""
    out: dict[str, tuple[str, float, float, int]] = {}
    for lineno, utt, value in read_table(path):
        seg = parse_segment(utt, value)
        if isinstance(seg, str):
            raise DataDirError(f"{path}:{lineno}: {seg}")
        if utt in out:
            raise DataDirError(f"{path}:{lineno}: duplicate id {utt!r}")
        out[utt] = (*seg, lineno)
    return out


def read_datadir(directory: str | os.PathLike, segments: bool = False) -> DataDir:
    """Load a data directory; raises DataDirError naming file and line on malformed input.

    ``segments``: the caller honours a ``segments`` file (:meth:`DataDir.span`); a directory with one
    is refused otherwise. Use :func:`validate_datadir` to get every problem at once instead of the first.
    """
    d = Path(directory)
    if not d.is_dir():
        raise DataDirError(f"{d}: no such data directory")
    for name in REQUIRED_FILES:
        if not (d / name).is_file():
            raise DataDirError(f"{d / name}: missing")
    dd = DataDir(root=d)
    dd.wav = _as_dict(d / "wav.scp")
    dd.text = _as_dict(d / "text", allow_empty_value=True)
    dd.utt2spk = _as_dict(d / "utt2spk")
    if (d / "utt2dur").is_file():
        try:
            dd.utt2dur = {k: float(v) for k, v in _as_dict(d / "utt2dur").items()}
        except ValueError as e:
            raise DataDirError(f"{d / 'utt2dur'}: a duration is not a number ({e})") from None
    if (d / SEGMENTS).is_file():
        if not segments:
            raise DataDirError(f"{d / SEGMENTS}: this command does not support Kaldi segments files (features, "
                               "decode, tune-lm, score, validate-data and train with stored features do); cut the "
                               "recordings into one audio file per utterance first")
        recordings, dd.wav = dd.wav, {}
        for utt, (rec, start, end, lineno) in read_segments(d / SEGMENTS).items():
            if rec not in recordings:
                raise DataDirError(f"{d / SEGMENTS}:{lineno}: recording {rec!r} of {utt!r} is not in wav.scp")
            dd.wav[utt] = recordings[rec]
            dd.segments[utt] = (start, end)
    return dd


def _atomic_write_lines(path: Path, lines: list[str]) -> None:
    # Line by line, not one joined string: wav.scp of a speed-perturbed 960 h set has ~850k lines.
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")


def write_datadir(dd: DataDir, directory: str | os.PathLike) -> Path:
    """Write all files of ``dd`` sorted by id; each file is replaced atomically."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    utts = dd.utt_ids
    _atomic_write_lines(d / "wav.scp", [f"{u} {dd.wav[u]}" for u in utts])
    _atomic_write_lines(d / "text", [f"{u} {dd.text.get(u, '')}".rstrip() for u in utts])
    _atomic_write_lines(d / "utt2spk", [f"{u} {dd.utt2spk[u]}" for u in utts])
    _atomic_write_lines(d / "spk2utt", [f"{s} {' '.join(us)}" for s, us in dd.spk2utt().items()])
    if dd.utt2dur:
        _atomic_write_lines(d / "utt2dur", [f"{u} {dd.utt2dur[u]:.3f}" for u in utts if u in dd.utt2dur])
    return d


# The shortest utterance any stage can use: one 512-sample frame at 16 kHz (FeatureConfig's default n_fft).
MIN_UTT_SECONDS = 0.032


def _table_lines(path: Path, problems: list[str]) -> Iterator[tuple[int, str]]:
    """Lines of a table as :func:`validate_datadir` sees them: bad bytes and a BOM are problems, not stops."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.append(f"{path}:{lineno}: byte 0x{raw[e.start]:02x} is not UTF-8 (convert the file to UTF-8)")
                line = raw.decode("utf-8", errors="replace")
            if lineno == 1 and line.startswith(BOM):
                problems.append(f"{path}:1: starts with a byte-order mark (save it as UTF-8 without BOM)")
                line = line[1:]
            yield lineno, line.rstrip("\n").rstrip("\r")


def validate_datadir(directory: str | os.PathLike, check_audio: bool = True) -> list[str]:
    """Return every problem found in a data directory, each as ``file:line: message``.

    Checks: required files present; bytes that are not UTF-8 and byte-order marks; lines well formed;
    ids unique and sorted; transcripts non-empty; every id present in wav.scp (or segments), text and
    utt2spk (and utt2dur, spk2utt when present); segments well formed, naming recordings of wav.scp;
    audio files exist, are readable by soundfile, have a plausible sample rate, and every utterance
    (or segment) lasts at least one feature frame (when ``check_audio``).
    """
    import soundfile as sf

    d = Path(directory)
    problems: list[str] = []
    if not d.is_dir():
        return [f"{d}: not a directory"]
    tables: dict[str, dict[str, tuple[int, str]]] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES + (SEGMENTS,):
        path = d / name
        if not path.is_file():
            if name in REQUIRED_FILES:
                problems.append(f"{path}: missing")
            continue
        seen: dict[str, tuple[int, str]] = {}
        prev = None
        for lineno, line in _table_lines(path, problems):
            parts = line.split(maxsplit=1)
            if not parts:
                problems.append(f"{path}:{lineno}: empty line")
                continue
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if not value:
                what = "empty transcript" if name == "text" else "no value"
                problems.append(f"{path}:{lineno}: {what} for {key!r}")
            if key in seen:
                problems.append(f"{path}:{lineno}: duplicate id {key!r} (first on line {seen[key][0]})")
            elif prev is not None and key < prev:
                problems.append(f"{path}:{lineno}: not sorted: {key!r} comes after {prev!r}")
            if name == "utt2dur" and value:
                try:
                    if float(value) <= 0:
                        problems.append(f"{path}:{lineno}: non-positive duration {value!r} for {key!r}")
                except ValueError:
                    problems.append(f"{path}:{lineno}: duration {value!r} is not a number")
            if name == SEGMENTS and value and isinstance(seg := parse_segment(key, value), str):
                problems.append(f"{path}:{lineno}: {seg}")
            seen.setdefault(key, (lineno, value))
            prev = key
        tables[name] = seen

    if "spk2utt" in tables and "utt2spk" in tables:
        spk_of = {}
        for spk, (lineno, value) in tables["spk2utt"].items():
            for utt in value.split():
                spk_of[utt] = spk
                if tables["utt2spk"].get(utt, (0, None))[1] != spk:
                    problems.append(f"{d / 'spk2utt'}:{lineno}: {utt!r} listed under {spk!r}, utt2spk disagrees")
        for utt, (lineno, _spk) in tables["utt2spk"].items():
            if utt not in spk_of:
                problems.append(f"{d / 'utt2spk'}:{lineno}: {utt!r} missing from spk2utt")
    # With segments, utterances are the segments' ids and wav.scp lists recordings.
    utt_table = SEGMENTS if SEGMENTS in tables else "wav.scp"
    per_utt = [n for n in (utt_table, "text", "utt2spk", "utt2dur") if n in tables]
    all_ids = set().union(*(tables[n].keys() for n in per_utt)) if per_utt else set()
    for name in per_utt:
        for utt in sorted(all_ids - tables[name].keys()):
            where = next(n for n in per_utt if utt in tables[n])
            problems.append(f"{d / where}:{tables[where][utt][0]}: {utt!r} missing from {name}")
    recordings = tables.get("wav.scp", {})
    for utt, (lineno, value) in tables.get(SEGMENTS, {}).items():
        rec = value.split()[0] if value else ""
        if rec and rec not in recordings:
            problems.append(f"{d / SEGMENTS}:{lineno}: recording {rec!r} of {utt!r} is not in wav.scp")
    if check_audio and "wav.scp" in tables:
        durations: dict[str, float] = {}
        for rec, (lineno, value) in recordings.items():
            if not value:
                continue
            p = Path(value)
            if not p.is_absolute():
                p = d / p
            where = f"{d / 'wav.scp'}:{lineno}: audio of {rec!r}"
            if not p.is_file():
                problems.append(f"{where} not found: {p}")
                continue
            try:
                info = sf.info(str(p))
            except Exception as e:  # soundfile raises several types for unreadable files
                problems.append(f"{where} unreadable ({p}): {' '.join(str(e).split())}")
                continue
            if info.frames == 0:
                problems.append(f"{where} is empty: {p}")
            elif not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
                problems.append(f"{where} has an implausible sample rate of {info.samplerate} Hz: {p}")
            else:
                durations[rec] = info.frames / info.samplerate
                if utt_table == "wav.scp" and durations[rec] < MIN_UTT_SECONDS:
                    problems.append(f"{where} lasts {durations[rec]:.3f} s, shorter than one "
                                    f"{1000 * MIN_UTT_SECONDS:.0f} ms feature frame: {p}")
                listed = tables.get("utt2dur", {}).get(rec, (0, ""))
                if utt_table == "wav.scp" and listed[1]:
                    try:
                        said = float(listed[1])
                    except ValueError:
                        said = None  # reported above
                    # Batching and on-the-fly training trust utt2dur: a wrong one (a stale copy, a bad header
                    # at import) mis-sizes batches.
                    if said is not None and abs(said - durations[rec]) > max(0.1, 0.1 * durations[rec]):
                        problems.append(f"{d / 'utt2dur'}:{listed[0]}: {rec!r} is listed as {said:g} s, but its "
                                        f"audio lasts {durations[rec]:.3f} s ({p})")
        for utt, (lineno, value) in tables.get(SEGMENTS, {}).items():
            seg = parse_segment(utt, value)
            if isinstance(seg, str) or seg[0] not in durations:
                continue  # reported above
            rec, start, end = seg
            end = durations[rec] if end == -1 else end
            if end > durations[rec] + 0.01:
                problems.append(f"{d / SEGMENTS}:{lineno}: segment {utt!r} ends at {end:g} s, after the end of "
                                f"recording {rec!r} ({durations[rec]:.3f} s)")
            elif 0 <= start < end and end - start < MIN_UTT_SECONDS:
                problems.append(f"{d / SEGMENTS}:{lineno}: segment {utt!r} lasts {end - start:.3f} s, shorter "
                                f"than one {1000 * MIN_UTT_SECONDS:.0f} ms feature frame")
    return problems
