"""Mozilla Common Voice, one language folder of a release.

    SRC/clips/*.mp3
    SRC/{train,dev,test,validated,...}.tsv   tab-separated, header row; columns used:
                                             client_id, path (clip file name), sentence

Each requested split ``X`` reads ``X.tsv`` and becomes ``OUT_DIR/X``. The official train/dev/test
split has no speaker in two parts. ``validated`` is treated specially: clips and speakers of
``dev.tsv``/``test.tsv`` are removed from it, so it can replace ``train`` as a larger training set
that still shares no speaker with dev and test.

The speaker is the first 16 hex digits of ``client_id`` (64 bits: collisions are negligible, and
ids stay readable); utterance ids are ``<speaker>-<clip name>``. Transcripts are normalized by the
English normalizer (``asr.text.normalize``): a language outside ``a-z`` loses its other letters, and
sentences left empty are reported and skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from asr.data.importers.common import (
    ImportReport,
    SplitResult,
    Utterance,
    read_text_file,
    speaker_id,
    utt_id,
    write_split,
)

REQUIRED_COLUMNS = ("client_id", "path", "sentence")
SPEAKER_HEX_DIGITS = 16


def read_tsv(path: Path, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    """Rows of a Common Voice TSV as ``(line number, {column: value})``."""
    # QUOTE_NONE: sentences contain unbalanced quotes, which csv would otherwise join across lines.
    reader = csv.DictReader(io.StringIO(read_text_file(path, report)), delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; header is {reader.fieldnames}")
    return [(reader.line_num, row) for row in reader]


def read_split(src: Path, split: str, report: ImportReport) -> list[Utterance]:
    rows = read_tsv(src / f"{split}.tsv", report)
    if split == "validated":
        held_out_clips, held_out_spk = set(), set()
        for other in ("dev", "test"):
            if (src / f"{other}.tsv").is_file():
                for _, row in read_tsv(src / f"{other}.tsv", report):
                    held_out_clips.add(row["path"])
                    held_out_spk.add(row["client_id"])
        before = len(rows)
        rows = [(n, r) for n, r in rows if r["path"] not in held_out_clips and r["client_id"] not in held_out_spk]
        report.note(f"validated: {before - len(rows)} clips of dev/test clips or speakers left out")
    utts = []
    for lineno, row in rows:
        where = f"{src / f'{split}.tsv'}:{lineno}"
        if not row.get("path"):
            report.skip(f"{where}: no clip path")
            continue
        spk = speaker_id((row.get("client_id") or "unknown")[:SPEAKER_HEX_DIGITS])
        clip = src / "clips" / row["path"]
        utts.append(Utterance(utt_id(spk, Path(row["path"]).stem), spk, clip, row.get("sentence") or "", where))
    return utts


def import_commonvoice(src: str | Path, out_dir: str | Path, splits: list[str],
                       min_sample_rate: int = 16000, nj: int = 4) -> list[SplitResult]:
    src = Path(src)
    missing = [f"{s}.tsv" for s in splits if not (src / f"{s}.tsv").is_file()]
    if missing or not (src / "clips").is_dir():
        raise FileNotFoundError(f"{src}: not a Common Voice language folder (missing "
                                f"{missing + ([] if (src / 'clips').is_dir() else ['clips/'])})")
    results = []
    for split in splits:
        report = ImportReport(split)
        results.append(write_split(read_split(src, split, report), Path(out_dir) / split, report,
                                   min_sample_rate, nj))
    return results
