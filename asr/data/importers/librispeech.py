"""LibriSpeech, as extracted from the openslr.org/12 tarballs.

    SRC/LibriSpeech/<split>/<reader>/<chapter>/<reader>-<chapter>-<nnnn>.flac
    SRC/LibriSpeech/<split>/<reader>/<chapter>/<reader>-<chapter>.trans.txt   "<utt> <WORDS>" per line

SRC may also be the ``LibriSpeech`` folder itself. Every split found becomes ``OUT_DIR/<split>``.
The speaker is the reader (utterance ids already start with ``<reader>-``, so Kaldi's sort order holds).
"""

from __future__ import annotations

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

SPLITS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other", "test-clean",
          "test-other")


def corpus_root(src: str | Path) -> Path:
    src = Path(src)
    return src / "LibriSpeech" if (src / "LibriSpeech").is_dir() else src


def read_split(split_dir: Path, report: ImportReport) -> list[Utterance]:
    """Utterances of one split; audio files that no transcript line names are reported."""
    utts: list[Utterance] = []
    named: set[Path] = set()
    for trans in sorted(split_dir.glob("*/*/*.trans.txt")):
        for lineno, line in enumerate(read_text_file(trans, report).splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            name = parts[0]
            audio = trans.parent / f"{name}.flac"
            named.add(audio)
            spk = speaker_id(name.split("-")[0])
            utts.append(Utterance(utt_id(spk, name), spk, audio, parts[1] if len(parts) > 1 else "",
                                  f"{trans}:{lineno}"))
    for audio in sorted(set(split_dir.glob("*/*/*.flac")) - named):
        report.skip(f"{audio}: no transcript line in {audio.parent}/*.trans.txt")
    return utts


def import_librispeech(src: str | Path, out_dir: str | Path, splits: list[str] | None = None,
                       min_sample_rate: int = 16000, nj: int = 4) -> list[SplitResult]:
    root = corpus_root(src)
    wanted = splits or [s for s in SPLITS if (root / s).is_dir()]
    missing = [s for s in wanted if not (root / s).is_dir()]
    if missing or not wanted:
        raise FileNotFoundError(f"{root}: no LibriSpeech split folder(s) {missing or list(SPLITS)}")
    results = []
    for split in wanted:
        report = ImportReport(split)
        utts = read_split(root / split, report)
        results.append(write_split(utts, Path(out_dir) / split, report, min_sample_rate, nj))
    return results
