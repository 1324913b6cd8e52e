"""Kaldi-style data directories: read, write and validate.

A data directory holds one utterance per line in each of these files, sorted by utterance id:

- ``wav.scp``  ``<utt> <path>``   audio path (absolute, or relative to the data directory)
- ``text``     ``<utt> <words>``  transcript (normalized words)
- ``utt2spk``  ``<utt> <spk>``
- ``spk2utt``  ``<spk> <utt> <utt> ...``
- ``utt2dur``  ``<utt> <seconds>``

This module is the only place that knows those file formats.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from asr.io import atomic_path

REQUIRED_FILES = ("wav.scp", "text", "utt2spk")
OPTIONAL_FILES = ("utt2dur", "spk2utt")


class DataDirError(ValueError):
    """A data directory file is malformed; the message names the file and line."""


@dataclass
class DataDir:
    """An in-memory data directory: dicts keyed by utterance id."""

    wav: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    utt2spk: dict[str, str] = field(default_factory=dict)
    utt2dur: dict[str, float] = field(default_factory=dict)
    root: Path | None = None  # directory relative wav paths are resolved against

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
        )


def read_table(path: Path, allow_empty_value: bool = False) -> list[tuple[int, str, str]]:
    """Read ``<key> <value>`` lines as (line_number, key, value); raises DataDirError on bad lines."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                raise DataDirError(f"{path}:{lineno}: empty line")
            parts = line.split(maxsplit=1)
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if not value and not allow_empty_value:
                raise DataDirError(f"{path}:{lineno}: utterance {key!r} has no value")
            rows.append((lineno, key, value))
    return rows


def _as_dict(path: Path, allow_empty_value: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for lineno, key, value in read_table(path, allow_empty_value):
        if key in out:
            raise DataDirError(f"{path}:{lineno}: duplicate id {key!r}")
        out[key] = value
    return out


def read_datadir(directory: str | os.PathLike) -> DataDir:
    """Load a data directory; raises DataDirError naming file and line on malformed input.

    Use :func:`validate_datadir` to get every problem at once instead of the first.
    """
    d = Path(directory)
    for name in REQUIRED_FILES:
        if not (d / name).is_file():
            raise DataDirError(f"{d / name}: missing")
    dd = DataDir(root=d)
    dd.wav = _as_dict(d / "wav.scp")
    dd.text = _as_dict(d / "text", allow_empty_value=True)
    dd.utt2spk = _as_dict(d / "utt2spk")
    if (d / "utt2dur").is_file():
        dd.utt2dur = {k: float(v) for k, v in _as_dict(d / "utt2dur").items()}
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


def validate_datadir(directory: str | os.PathLike, check_audio: bool = True) -> list[str]:
    """Return every problem found in a data directory, each as ``file:line: message``.

    Checks: required files present; lines well formed; ids unique and sorted; transcripts
    non-empty; every id present in wav.scp, text and utt2spk (and utt2dur, spk2utt when
    present); audio files exist and are readable by soundfile (when ``check_audio``).
    """
    import soundfile as sf

    d = Path(directory)
    problems: list[str] = []
    if not d.is_dir():
        return [f"{d}: not a directory"]
    tables: dict[str, dict[str, tuple[int, str]]] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        path = d / name
        if not path.is_file():
            if name in REQUIRED_FILES:
                problems.append(f"{path}: missing")
            continue
        seen: dict[str, tuple[int, str]] = {}
        prev = None
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                line = line.rstrip("\n").rstrip("\r")
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
    per_utt = [n for n in ("wav.scp", "text", "utt2spk", "utt2dur") if n in tables]
    all_ids = set().union(*(tables[n].keys() for n in per_utt)) if per_utt else set()
    for name in per_utt:
        for utt in sorted(all_ids - tables[name].keys()):
            where = next(n for n in per_utt if utt in tables[n])
            problems.append(f"{d / where}:{tables[where][utt][0]}: {utt!r} missing from {name}")
    if check_audio and "wav.scp" in tables:
        for utt, (lineno, value) in tables["wav.scp"].items():
            if not value:
                continue
            p = Path(value)
            if not p.is_absolute():
                p = d / p
            if not p.is_file():
                problems.append(f"{d / 'wav.scp'}:{lineno}: audio of {utt!r} not found: {p}")
                continue
            try:
                info = sf.info(str(p))
                if info.frames == 0:
                    problems.append(f"{d / 'wav.scp'}:{lineno}: audio of {utt!r} is empty: {p}")
            except Exception as e:  # soundfile raises several types for unreadable files
                problems.append(f"{d / 'wav.scp'}:{lineno}: audio of {utt!r} unreadable ({p}): {e}")
    return problems
