"""Command line of the data stage: every ``asr`` subcommand that makes or checks data directories.

``validate-data``, ``synth-corpus``, ``speak``, ``import <layout>``, ``combine-data``, ``subset-data``,
``speed-perturb`` and ``augment``: for each, ``add_<stem>_arguments(parser)`` and ``run_<stem>(args)``
(the table in :mod:`asr.cli`). The stage modules keep the library functions these call; the run
functions import them when called, so that building the parser stays light.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from asr.config import add_config_arguments, config_from_args
from asr.data.audio import SAMPLE_RATE
from asr.data.synth import SIZES, SynthConfig, default_prompts_path, fortune_prompts_path

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------- validate-data


def add_validate_data_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr validate-data``."""
    p.add_argument("data_dir", nargs="+")
    p.add_argument("--no-audio", action="store_true", help="skip opening the audio files")


def run_validate_data(args: argparse.Namespace) -> int:
    """Print each problem, one summary line per directory on stderr; status 1 when any has problems."""
    from asr.data.datadir import validate_datadir

    status = 0
    for d in args.data_dir:
        problems = validate_datadir(d, check_audio=not args.no_audio)
        for p in problems:
            print(p)
        print(f"{d}: {'OK' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
        status |= bool(problems)
    return status


# ------------------------------------------------------------------------------------------ synth-corpus


def add_synth_corpus_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr synth-corpus``: one flag per :class:`~asr.data.synth.SynthConfig` field, plus
    ``--size`` (a preset of ``--train-hours``) and ``--no-progress``."""
    # --train-hours defaults to None here, so that run_synth_corpus can tell "not given" (--size decides).
    add_config_arguments(p, SynthConfig, only=("out_dir", "prompts", "train_hours"), unset=("train_hours",),
                         unset_help="default: --size's, else")
    p.add_argument("--size", choices=sorted(SIZES), default=None,
                   help="preset train size: " + ", ".join(f"{k} = {v:g} h" for k, v in SIZES.items()))
    add_config_arguments(p, SynthConfig, exclude=("out_dir", "prompts", "train_hours"))
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def synth_config_from_args(args: argparse.Namespace) -> SynthConfig:
    """The :class:`SynthConfig` of parsed ``asr synth-corpus`` flags, with ``--size`` applied."""
    changes = {}
    if args.train_hours is None and args.size:
        changes["train_hours"] = SIZES[args.size]
    if args.size == "full" and not args.prompts:
        # ~110k utterances: with ~56k distinct sentences each is spoken about twice (by other voices).
        changes["prompts"] = f"{default_prompts_path()},{fortune_prompts_path()}"
    return config_from_args(SynthConfig, args, **changes)


def run_synth_corpus(args: argparse.Namespace) -> int:
    """Build the corpus; one summary line per split on stderr."""
    from asr.data.synth import build_synth_corpus
    from asr.data.tts.base import TTSError

    try:
        cfg = synth_config_from_args(args)
        card = build_synth_corpus(cfg, progress=not args.no_progress)
    except (ValueError, OSError, TTSError) as e:
        log.error("%s", e)
        print(f"error: {e}", file=sys.stderr)
        return 1
    for split, s in card["splits"].items():
        print(f"{split:5s} {s['utterances']:6d} utts {s['hours']:7.3f} h  {s['speakers']:4d} speakers  "
              f"{s['failed']} failed", file=sys.stderr)
    print(f"corpus in {Path(cfg.out_dir).resolve()} ({card['elapsed_seconds']:.0f} s)", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------------------- speak


def add_speak_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr speak``."""
    p.add_argument("text")
    p.add_argument("--out", required=True, help="output wav (16 kHz mono)")
    p.add_argument("--voice", help="eSpeak voice such as en-us+m3 (default: a held-out voice of --split)")
    p.add_argument("--split", default="test", choices=["test", "dev"])
    p.add_argument("--rate", type=int, default=175, help="words per minute")


def run_speak(args: argparse.Namespace) -> int:
    """Speak one sentence into a wav file."""
    from asr.data.synth import speak_to_file
    from asr.data.tts import TTSError

    try:
        voice = speak_to_file(args.text, args.out, voice=args.voice, split=args.split, rate=args.rate)
    except TTSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: spoken by espeak voice {voice}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------------------ import


class _ImportFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, and each importer's module docstring (the layout it reads) kept as written."""


def _add_common_import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nj", type=int, default=4, help="threads probing audio files")
    p.add_argument("--min-sample-rate", type=int, default=SAMPLE_RATE,
                   help="skip audio below this rate (higher rates are resampled on load)")


def _add_librispeech(p: argparse.ArgumentParser) -> None:
    from asr.data.importers.librispeech import SPLITS

    p.add_argument("src", help="folder holding LibriSpeech/ (or the LibriSpeech folder itself)")
    p.add_argument("out_dir", help="one data directory per split is written here")
    p.add_argument("--splits", nargs="+", choices=SPLITS, help="splits to import (default: every one found)")
    _add_common_import_arguments(p)


def _run_librispeech(args: argparse.Namespace) -> list:
    from asr.data.importers.librispeech import import_librispeech

    return import_librispeech(args.src, args.out_dir, args.splits, args.min_sample_rate, args.nj)


def _add_commonvoice(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="a language folder of a Common Voice release (holds clips/ and *.tsv)")
    p.add_argument("out_dir", help="one data directory per split is written here")
    p.add_argument("--splits", nargs="+", default=["train", "dev", "test"],
                   help="TSV names to import; 'validated' excludes dev/test clips and speakers")
    _add_common_import_arguments(p)


def _run_commonvoice(args: argparse.Namespace) -> list:
    from asr.data.importers.commonvoice import import_commonvoice

    return import_commonvoice(args.src, args.out_dir, args.splits, args.min_sample_rate, args.nj)


def _add_ljspeech(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="the LJSpeech-1.1 folder (holds metadata.csv and wavs/)")
    p.add_argument("out_dir", help="train/, dev/ and test/ data directories are written here")
    p.add_argument("--dev-utts", type=int, default=250)
    p.add_argument("--test-utts", type=int, default=250)
    _add_common_import_arguments(p)


def _run_ljspeech(args: argparse.Namespace) -> list:
    from asr.data.importers.ljspeech import import_ljspeech

    return import_ljspeech(args.src, args.out_dir, args.dev_utts, args.test_utts, args.min_sample_rate, args.nj)


def _add_folder(p: argparse.ArgumentParser) -> None:
    from asr.data.importers.folder import FolderOptions

    p.add_argument("src", help="folder with the audio files (searched recursively)")
    p.add_argument("out_dir", help="the data directory to write")
    add_config_arguments(p, FolderOptions, exclude=("min_sample_rate", "nj"))
    _add_common_import_arguments(p)


def _run_folder(args: argparse.Namespace) -> list:
    from asr.data.importers.folder import FolderOptions, import_folder

    return [import_folder(args.src, args.out_dir, config_from_args(FolderOptions, args))]


# layout: (help, add its options, import it: a list of SplitResult). The module docstring is the description.
IMPORTERS = {
    "librispeech": ("LibriSpeech (<split>/<reader>/<chapter>/*.flac + *.trans.txt)", _add_librispeech,
                    _run_librispeech),
    "commonvoice": ("Mozilla Common Voice (clips/*.mp3 + train/dev/test/validated.tsv)", _add_commonvoice,
                    _run_commonvoice),
    "ljspeech": ("LJSpeech (metadata.csv + wavs/)", _add_ljspeech, _run_ljspeech),
    "folder": ("any folder of audio files + a CSV/TSV of transcripts or a .txt per file", _add_folder, _run_folder),
}


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """``asr import <layout>``: one sub-parser per layout of :data:`IMPORTERS`."""
    sub = parser.add_subparsers(dest="corpus", required=True, metavar="{" + ",".join(IMPORTERS) + "}")
    for name, (help_, add, _) in IMPORTERS.items():
        doc = importlib.import_module(f"asr.data.importers.{name}").__doc__
        add(sub.add_parser(name, help=help_, description=doc, formatter_class=_ImportFormatter))


def run_import(args: argparse.Namespace) -> int:
    """Import, then one line per split; status 1 when a split ended up empty."""
    from asr.data.importers.common import REPORT_FILE

    status = 0
    for r in IMPORTERS[args.corpus][2](args):
        tail = f", {len(r.report.problems)} skipped (see {r.out_dir / REPORT_FILE})" if r.report.problems else ""
        print(f"{r.out_dir}: {r.num_utts} utterances, {r.hours:.2f} h{tail}")
        if r.num_utts == 0:
            print(f"error: {r.out_dir}: no usable utterances", file=sys.stderr)
            status = 1
    return status


# ---------------------------------------------------------------------------------- combine-data, subset-data


def add_combine_data_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr combine-data``."""
    p.add_argument("out_dir", help="data directory to write")
    p.add_argument("src_dirs", nargs="+", help="data directories to combine")


def run_combine_data(args: argparse.Namespace) -> int:
    from asr.data.combine import combine_datadirs

    dd = combine_datadirs(args.src_dirs, args.out_dir)
    print(f"{args.out_dir}: {len(dd)} utterances, {dd.total_hours():.2f} h from {len(args.src_dirs)} dirs")
    return 0


def add_subset_data_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr subset-data``."""
    p.add_argument("src_dir", help="data directory to take from")
    p.add_argument("out_dir", help="data directory to write")
    p.add_argument("--speaker-prefix", help="keep speakers whose id starts with this")
    p.add_argument("--utt-list", help="keep the utterance ids listed (first field of each line)")
    p.add_argument("--first", type=int, default=0, help="then keep at most this many (sorted ids; 0: all)")
    p.add_argument("--hours", type=float, default=0.0, help="then keep at most this much audio (0: all)")


def run_subset_data(args: argparse.Namespace) -> int:
    from asr.data.subset import subset_datadir

    dd = subset_datadir(args.src_dir, args.out_dir, args.speaker_prefix, args.utt_list, args.first, args.hours)
    print(f"{args.out_dir}: {len(dd)} utterances, {dd.total_hours():.2f} h")
    return 0


# ---------------------------------------------------------------------------------- speed-perturb, augment


def add_speed_perturb_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr speed-perturb``."""
    p.add_argument("data_dir", help="training data directory to perturb")
    p.add_argument("out_dir", help="data directory to write (originals + copies)")
    p.add_argument("--factors", type=float, nargs="+", default=[0.9, 1.1], help="speed factors of the copies")
    p.add_argument("--audio-dir", help="where the copies go (default: OUT_DIR/audio)")
    p.add_argument("--no-original", action="store_true", help="list only the perturbed copies")
    p.add_argument("--nj", type=int, default=2, help="parallel processes")


def run_speed_perturb(args: argparse.Namespace) -> int:
    from asr.data.perturb import speed_perturb_datadir

    dd = speed_perturb_datadir(args.data_dir, args.out_dir, tuple(args.factors), args.audio_dir,
                               not args.no_original, args.nj)
    print(f"{args.out_dir}: {len(dd)} utterances, {dd.total_hours():.2f} h")
    return 0


def add_augment_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr augment``: the effects come from YAML + ``key=value`` (AugmentConfig is nested)."""
    p.add_argument("data_dir", help="training data directory to augment")
    p.add_argument("out_dir", help="data directory to write (the copies, utt2aug, augment.yaml, summary)")
    p.add_argument("overrides", nargs="*",
                   help="key=value config overrides, e.g. noise.prob=0.5 'noise.snr_db=[0, 10]'; they must follow "
                        "OUT_DIR directly, before any option (argparse takes no positionals after an option)")
    p.add_argument("--config", help="YAML file with AugmentConfig fields (defaults: asr/data/augment.py)")
    p.add_argument("--copies", type=int, default=1, help="augmented copies per utterance (aug1-, aug2-, ...)")
    p.add_argument("--seed", type=int, default=0, help="seed of every draw (with the copy and utterance id)")
    p.add_argument("--audio-dir", help="where the copies go (default: OUT_DIR/audio)")
    p.add_argument("--keep-original", action="store_true", help="list the original utterances too")
    p.add_argument("--nj", type=int, default=2, help="parallel processes")


def run_augment(args: argparse.Namespace) -> int:
    from asr.config import load_config
    from asr.data.augment import AugmentConfig, augment_datadir

    cfg = load_config(AugmentConfig, args.config, args.overrides)
    summary = augment_datadir(args.data_dir, args.out_dir, cfg, args.copies, args.seed, args.audio_dir,
                              args.keep_original, args.nj)
    mix = ", ".join(f"{k} {v:.0%}" for k, v in summary["mix_share"].items() if v)
    print(f"{args.out_dir}: {summary['augmented_utterances']} copies, {summary['hours']:.2f} h ({mix}); "
          f"{summary['skipped_count']} source utterance(s) skipped")
    return 0
