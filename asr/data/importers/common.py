"""What every corpus importer shares: reading transcript files, Kaldi-style ids, probing audio, writing a split.

An importer turns a corpus layout into :class:`Utterance` records (id, speaker, audio path,
original transcript, where it came from) and hands them to :func:`write_split`, which

- normalizes each transcript with :func:`asr.text.normalize.normalize_text` (the original goes to
  ``text.orig``),
- probes every audio file with ``soundfile.info`` (in threads) for ``utt2dur``,
- skips, and reports with paths, whatever cannot be used: a transcript line whose audio is
  missing, unreadable or empty audio, a transcript that normalizes to nothing, a duplicate id,
  audio below ``min_sample_rate``,
- writes the data directory (absolute audio paths), ``text.orig`` and ``import_report.txt``,
  and checks it with :func:`asr.data.datadir.validate_datadir`.

Audio at another rate than 16 kHz (or with several channels) is kept: ``asr.data.audio.load_audio``
resamples and mixes down whenever it is read, so no converted copy is needed. Those files are counted
in the report.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from asr.data.audio import SAMPLE_RATE
from asr.data.datadir import DataDir, validate_datadir, write_datadir
from asr.io import atomic_write_text
from asr.text.normalize import normalize_text

log = logging.getLogger(__name__)

REPORT_FILE = "import_report.txt"
ORIG_TEXT_FILE = "text.orig"
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".oga", ".aif", ".aiff")

# Speaker ids may not contain '-': '-' separates speaker and utterance in utterance ids and sorts
# below every character left in an id, which is what makes "sorted by utterance id" also
# "grouped and sorted by speaker" (Kaldi's requirement for utt2spk/spk2utt). Letters and digits of
# any script are kept (\w is Unicode-aware): mapping them to '_' made 一.wav and 二.wav one id.
_SPK_BAD = re.compile(r"[^\w.]+")
_UTT_BAD = re.compile(r"[^\w.\-]+")


def speaker_id(raw: str) -> str:
    """A raw speaker label made safe for ids (letters, digits, ``_`` and ``.``; never empty)."""
    return _SPK_BAD.sub("_", raw.strip()).strip("_") or "unknown"


def utt_id(spk: str, name: str) -> str:
    """``<spk>-<name>``, or ``name`` itself when it already starts with ``<spk>-`` (LibriSpeech ids do)."""
    name = _UTT_BAD.sub("_", name.strip())
    return name if name.startswith(spk + "-") else f"{spk}-{name}"


def sort_disagreements(utt2spk: dict[str, str]) -> list[str]:
    """Utterances at which utterance order and speaker order disagree (Kaldi needs none)."""
    bad, prev_spk, done = [], None, set()
    for utt in sorted(utt2spk):
        spk = utt2spk[utt]
        if spk != prev_spk:
            if spk in done or (prev_spk is not None and spk < prev_spk):
                bad.append(utt)
            if prev_spk is not None:
                done.add(prev_spk)
            prev_spk = spk
    return bad


@dataclass
class Utterance:
    """One utterance as an importer found it."""

    utt: str
    spk: str
    audio: Path
    text: str  # the transcript as written in the corpus
    source: str = ""  # where the transcript came from, "file:line", for messages


@dataclass
class ImportReport:
    """Problems (something was skipped) and notes (something was handled) of one split, with paths."""

    name: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, message: str) -> None:
        self.problems.append(message)
        log.warning("%s: skipped: %s", self.name, message)

    def note(self, message: str) -> None:
        self.notes.append(message)
        log.info("%s: %s", self.name, message)


def decode_text(data: bytes, where: str | os.PathLike, report: ImportReport | None = None) -> str:
    """Bytes of a transcript file -> str: UTF-8 (a BOM is dropped), else cp1252, else latin-1.

    cp1252 before latin-1 because Windows-written "latin-1" files use its quotes and dashes; latin-1
    decodes any byte, so this never fails. A non-UTF-8 file is noted in the report.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if report is not None:
            report.note(f"{where}: not UTF-8, read as {encoding}")
        return text
    raise AssertionError("latin-1 decodes every byte string")


def read_text_file(path: str | os.PathLike, report: ImportReport | None = None) -> str:
    return decode_text(Path(path).read_bytes(), path, report)


def find_audio(root: Path, extensions: Iterable[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """Audio files under ``root`` (recursive, by extension, case-insensitive), sorted."""
    exts = {e.lower() for e in extensions}
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in exts and p.is_file())


def _probe(path: Path) -> tuple[int, int, str]:
    """``(sample_rate, frames, error)`` of an audio file; error is '' when it is usable."""
    import soundfile as sf

    if not path.is_file():
        return 0, 0, "not found"
    try:
        info = sf.info(str(path))
    except Exception as e:  # soundfile raises several types for unreadable files
        return 0, 0, f"unreadable ({e})"
    if info.frames <= 0 or info.samplerate <= 0:
        return info.samplerate, 0, "contains no audio samples"
    return info.samplerate, info.frames, ""


@dataclass
class SplitResult:
    name: str
    out_dir: Path
    num_utts: int
    hours: float
    report: ImportReport


def write_split(utts: list[Utterance], out_dir: str | os.PathLike, report: ImportReport,
                min_sample_rate: int = SAMPLE_RATE, nj: int = 4) -> SplitResult:
    """Check, normalize and write ``utts`` as a data directory at ``out_dir`` (see the module docstring)."""
    out = Path(out_dir)
    first_seen: dict[str, Utterance] = {}
    candidates: list[tuple[Utterance, str]] = []
    for u in utts:
        if u.utt in first_seen:
            report.skip(f"{u.source or u.audio}: duplicate utterance id {u.utt!r} "
                        f"(first from {first_seen[u.utt].source or first_seen[u.utt].audio})")
            continue
        first_seen[u.utt] = u
        norm = normalize_text(u.text)
        if not norm:
            report.skip(f"{u.source or u.audio}: transcript {u.text!r} of {u.audio} is empty after normalization")
            continue
        candidates.append((u, norm))

    with ThreadPoolExecutor(max(1, nj)) as pool:  # libsndfile releases the GIL; probing is I/O bound
        probes = list(pool.map(_probe, [u.audio for u, _ in candidates]))
    dd, orig, rates = DataDir(), {}, Counter()
    for (u, norm), (sr, frames, err) in zip(candidates, probes, strict=True):
        if err:
            what = "transcript for missing audio" if err == "not found" else "audio"
            report.skip(f"{u.source or u.audio}: {what} {u.audio}: {err}")
            continue
        if sr < min_sample_rate:
            report.skip(f"{u.audio}: {sr} Hz is below {min_sample_rate} Hz (narrow-band audio; lower "
                        f"--min-sample-rate to keep it)")
            continue
        rates[sr] += 1
        dd.wav[u.utt] = os.path.abspath(u.audio)
        dd.text[u.utt] = norm
        dd.utt2spk[u.utt] = u.spk
        dd.utt2dur[u.utt] = frames / sr
        orig[u.utt] = " ".join(u.text.split())
    other = {sr: n for sr, n in rates.items() if sr != SAMPLE_RATE}
    if other:
        report.note(f"{sum(other.values())} audio file(s) at {', '.join(f'{sr} Hz' for sr in sorted(other))} "
                    f"are resampled to {SAMPLE_RATE} Hz whenever they are loaded")
    bad = sort_disagreements(dd.utt2spk)
    if bad:  # importers build ids with utt_id(), so this is a bug, not bad input
        raise RuntimeError(f"{out}: utterance and speaker order disagree at {bad[:3]}")

    out.mkdir(parents=True, exist_ok=True)
    if dd.wav:
        write_datadir(dd, out)
        atomic_write_text(out / ORIG_TEXT_FILE, "".join(f"{u} {orig[u]}\n" for u in dd.utt_ids))
        problems = validate_datadir(out, check_audio=False)
        if problems:
            raise RuntimeError(f"{out}: importer wrote an invalid data dir: {problems[:3]}")
    result = SplitResult(report.name, out, len(dd), dd.total_hours(), report)
    _write_report(result)
    return result


def _write_report(res: SplitResult) -> None:
    lines = [f"# {res.name}: {res.num_utts} utterances, {res.hours:.2f} h, {len(res.report.problems)} skipped"]
    lines += [f"skipped: {p}" for p in res.report.problems]
    lines += [f"note: {n}" for n in res.report.notes]
    atomic_write_text(res.out_dir / REPORT_FILE, "\n".join(lines) + "\n")
