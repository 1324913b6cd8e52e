"""LJSpeech 1.1: one reader, 13,100 clips of public-domain audiobooks.

    SRC/metadata.csv   "<id>|<transcript>|<normalized transcript>" per line, no header
    SRC/wavs/<id>.wav  22.05 kHz (resampled to 16 kHz whenever loaded)

The normalized column (numbers and abbreviations written out by the corpus authors) is used when
present. There is no official split: like ESPnet's recipe, the last ``--test-utts`` lines become
``test``, the ``--dev-utts`` before them ``dev``, the rest ``train`` (metadata.csv is in book
order, so the held-out parts come from other chapters). The speaker is ``LJ``; the corpus ids
(``LJ001-0001``) are kept as utterance ids.
"""

from __future__ import annotations

from pathlib import Path

from asr.data.importers.common import (
    ImportReport,
    SplitResult,
    Utterance,
    read_text_file,
    write_split,
)

SPEAKER = "LJ"


def read_metadata(src: Path, report: ImportReport) -> list[Utterance]:
    utts, named = [], set()
    meta = src / "metadata.csv"
    for lineno, line in enumerate(read_text_file(meta, report).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2:
            report.skip(f"{meta}:{lineno}: expected '<id>|<text>[|<normalized text>]', got {line!r}")
            continue
        name = fields[0].strip()
        text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
        audio = src / "wavs" / f"{name}.wav"
        named.add(audio)
        utts.append(Utterance(name, SPEAKER, audio, text, f"{meta}:{lineno}"))
    for audio in sorted(set((src / "wavs").glob("*.wav")) - named):
        report.skip(f"{audio}: no line in {meta}")
    return utts


def import_ljspeech(src: str | Path, out_dir: str | Path, dev_utts: int = 250, test_utts: int = 250,
                    min_sample_rate: int = 16000, nj: int = 4) -> list[SplitResult]:
    src = Path(src)
    if not (src / "metadata.csv").is_file():
        raise FileNotFoundError(f"{src}: no metadata.csv (not an LJSpeech folder)")
    report = ImportReport("ljspeech")
    utts = read_metadata(src, report)
    if dev_utts + test_utts >= len(utts):
        raise ValueError(f"{src}: {len(utts)} utterances cannot give {dev_utts} dev + {test_utts} test and a train set")
    n_train = len(utts) - dev_utts - test_utts
    parts = {"train": utts[:n_train], "dev": utts[n_train:n_train + dev_utts], "test": utts[n_train + dev_utts:]}
    results = []
    for split, part in parts.items():
        # File-level problems were found once; they go into the train report only.
        rep = report if split == "train" else ImportReport(split)
        rep.name = split
        results.append(write_split(part, Path(out_dir) / split, rep, min_sample_rate, nj))
    return results
