"""Any folder of audio files with transcripts, as one data directory.

Transcripts come from either

- a CSV/TSV (``--transcripts FILE``): one row per file, audio path relative to SRC (or absolute).
  A header row is recognized by a path column name (``path``, ``file``, ``file_name``, ``audio``, ...);
  without one, column 0 is the path and column 1 the text. ``--path-column`` / ``--text-column`` /
  ``--speaker-column`` pick columns by header name or 0-based index. ``.tsv`` files are split on
  tabs, anything else on commas (``--delimiter`` overrides).
- or a sidecar per audio file: ``clip.wav`` + ``clip.txt`` (or ``clip.lab``) in the same folder.

Audio files are found recursively by extension (wav, flac, mp3, ogg, opus, aiff). The speaker is,
with ``--speaker-from parent`` (default), the folder holding the file (its path below SRC, with
``/`` as ``_``; files directly in SRC take SRC's name); with ``utt``, each file is its own speaker;
with ``column``, the ``--speaker-column`` of the transcript table. Utterance ids are
``<speaker>-<file stem>`` (``<speaker>`` alone for ``utt``).

Reported and skipped: rows or sidecars whose audio does not exist, audio without a transcript,
unreadable audio. Transcript files in UTF-8 (with or without BOM), cp1252 or latin-1 are read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from asr.config import option
from asr.data.audio import SAMPLE_RATE
from asr.data.importers.common import (
    AUDIO_EXTENSIONS,
    ImportReport,
    SplitResult,
    Utterance,
    find_audio,
    read_text_file,
    speaker_id,
    utt_id,
    write_split,
)

PATH_COLUMNS = ("path", "file", "file_name", "filename", "audio", "audio_path", "audio_filepath", "wav", "clip")
TEXT_COLUMNS = ("text", "transcript", "transcription", "sentence", "normalized_text", "words")
SIDECAR_EXTENSIONS = (".txt", ".lab")


@dataclass
class FolderOptions:
    """How ``asr import folder`` reads a folder; each field is also its command-line option (help below)."""

    transcripts: str | None = option(None, help="CSV/TSV with audio path and transcript per row (default: a .txt "
                                                "or .lab beside each audio file)")
    delimiter: str | None = option(None, help="column separator of --transcripts (default: tab for .tsv, else "
                                              "comma)")
    path_column: str | None = option(None, help="header name or 0-based index (default: a path-like header, "
                                                "else 0)")
    text_column: str | None = option(None, help="header name or 0-based index (default: a text-like header, "
                                                "else 1)")
    speaker_column: str | None = option(None, help="header name or 0-based index, for --speaker-from column")
    speaker_from: str = option("parent", choices=("parent", "utt", "column"),
                               help="speaker = the file's folder, the file itself, or a column of --transcripts")
    # The options every importer has (asr.data.commands): not flags of this dataclass.
    min_sample_rate: int = SAMPLE_RATE
    nj: int = 4


def _speaker_and_id(src: Path, audio: Path, speaker_from: str, speaker: str | None) -> tuple[str, str]:
    src, audio = src.resolve(), audio.resolve()
    rel = audio.relative_to(src) if audio.is_relative_to(src) else Path(audio.name)
    if speaker_from == "utt":
        spk = speaker_id(str(rel.with_suffix("")).replace("/", "_"))
        return spk, spk
    if speaker_from == "column":
        spk = speaker_id(speaker or "unknown")
    else:
        parent = str(rel.parent).replace("/", "_")
        spk = speaker_id(src.name if parent == "." else parent)
    return spk, utt_id(spk, audio.stem)


def _column(header: list[str] | None, spec: str | None, defaults: tuple[str, ...], fallback: int | None,
            what: str, where: Path) -> int | None:
    """Index of a column given by name or number; ``fallback`` when unspecified and there is no header."""
    if spec is not None:
        if spec.isdigit():
            return int(spec)
        if header is None or spec.lower() not in header:
            raise ValueError(f"{where}: no {what} column {spec!r} (header: {header})")
        return header.index(spec.lower())
    if header is None:
        return fallback
    for name in defaults:
        if name in header:
            return header.index(name)
    if fallback is None:
        return None
    raise ValueError(f"{where}: no {what} column among {header}; name it with --{what}-column")


def read_table(src: Path, table: Path, report: ImportReport, args: FolderOptions) -> list[Utterance]:
    text = read_text_file(table, report)
    delimiter = args.delimiter or ("\t" if table.suffix.lower() == ".tsv" else ",")
    # Tab-separated files are not quoted in practice, and stray quotes must not swallow lines.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting))
    first = [c.strip().lower() for c in rows[0]] if rows else []
    named = args.path_column is not None and args.path_column.lower() in first
    header = first if named or any(c in PATH_COLUMNS for c in first) else None
    path_col = _column(header, args.path_column, PATH_COLUMNS, 0, "path", table)
    text_col = _column(header, args.text_column, TEXT_COLUMNS, 1, "text", table)
    spk_col = _column(header, args.speaker_column, (), None, "speaker", table)
    if args.speaker_from == "column" and spk_col is None:
        raise ValueError("--speaker-from column needs --speaker-column")
    utts = []
    for lineno, row in enumerate(rows[1:] if header else rows, 2 if header else 1):
        where = f"{table}:{lineno}"
        if not any(c.strip() for c in row):
            continue
        if len(row) <= max(path_col, text_col, spk_col or 0):
            report.skip(f"{where}: {len(row)} column(s), expected more: {row}")
            continue
        audio = Path(row[path_col].strip())
        audio = audio if audio.is_absolute() else src / audio
        spk, utt = _speaker_and_id(src, audio, args.speaker_from, row[spk_col] if spk_col is not None else None)
        utts.append(Utterance(utt, spk, audio, row[text_col], where))
    return utts


def read_sidecars(src: Path, audio_files: list[Path], report: ImportReport, speaker_from: str) -> list[Utterance]:
    utts = []
    for audio in audio_files:
        sidecar = next((audio.with_suffix(e) for e in SIDECAR_EXTENSIONS if audio.with_suffix(e).is_file()), None)
        if sidecar is None:  # reported later as audio without transcript
            continue
        spk, utt = _speaker_and_id(src, audio, speaker_from, None)
        utts.append(Utterance(utt, spk, audio, " ".join(read_text_file(sidecar, report).split()), str(sidecar)))
    stems = {a.with_suffix("") for a in audio_files}
    for ext in SIDECAR_EXTENSIONS:
        for sidecar in sorted(src.rglob(f"*{ext}")):
            if sidecar.with_suffix("") not in stems:
                report.skip(f"{sidecar}: transcript for missing audio (no {sidecar.stem}"
                            f"{{{','.join(AUDIO_EXTENSIONS)}}} beside it)")
    return utts


def import_folder(src: str | Path, out_dir: str | Path, args: FolderOptions | None = None) -> SplitResult:
    args = args or FolderOptions()
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not a folder")
    report = ImportReport(Path(out_dir).name)
    audio_files = find_audio(src)
    if args.transcripts:
        utts = read_table(src, Path(args.transcripts), report, args)
    else:
        utts = read_sidecars(src, audio_files, report, args.speaker_from)
    transcribed = {u.audio.resolve() for u in utts}
    for audio in audio_files:
        if audio.resolve() not in transcribed:
            report.skip(f"{audio}: no transcript")
    return write_split(_unique_ids(utts, report), out_dir, report, args.min_sample_rate, args.nj)


def _unique_ids(utts: list[Utterance], report: ImportReport) -> list[Utterance]:
    """Different files whose names map to one id (``a b.wav`` and ``a_b.wav``) get ``-2``, ``-3``... suffixes,
    noted in the report; the same file listed twice stays a duplicate (write_split skips and reports it)."""
    first: dict[str, Path] = {}
    taken = {u.utt for u in utts}
    out = []
    for u in utts:
        audio = u.audio.resolve()
        if u.utt in first and first[u.utt] != audio:
            n = 2
            while f"{u.utt}-{n}" in taken:
                n += 1
            new = f"{u.utt}-{n}"
            report.note(f"{u.audio}: its id {u.utt!r} is also {first[u.utt]}'s; renamed {new!r}")
            taken.add(new)
            u = Utterance(new, u.spk, u.audio, u.text, u.source)
        first.setdefault(u.utt, audio)
        out.append(u)
    return out
