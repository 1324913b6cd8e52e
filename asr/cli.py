"""``asr`` command line: parses arguments and dispatches to the stage modules."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

FORMATTER = argparse.ArgumentDefaultsHelpFormatter


def cmd_validate_data(args) -> int:
    from asr.data.datadir import validate_datadir

    status = 0
    for d in args.data_dir:
        problems = validate_datadir(d, check_audio=not args.no_audio)
        for p in problems:
            print(p)
        print(f"{d}: {'OK' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
        status |= bool(problems)
    return status


def cmd_synth_corpus(args) -> int:
    from asr.data import synth

    return synth.run(args)


def cmd_speak(args) -> int:
    from asr.data.synth import speak_to_file
    from asr.data.tts import TTSError

    try:
        voice = speak_to_file(args.text, args.out, voice=args.voice, split=args.split, rate=args.rate)
    except TTSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: spoken by espeak voice {voice}", file=sys.stderr)
    return 0


def cmd_features(args) -> int:
    from asr.features import commands

    return commands.run(args)


def cmd_features_merge(args) -> int:
    from asr.features import commands

    return commands.run_merge(args)


def cmd_train(args) -> int:
    from asr.config import load_config
    from asr.train.guards import TrainingAborted
    from asr.train.trainer import TrainConfig, train

    cfg = load_config(TrainConfig, args.config, args.overrides)
    try:
        result = train(cfg)
    except TrainingAborted as e:  # out of memory, NaN losses: the message says what to change
        logging.getLogger("asr").error("%s", e)
        return 1
    if not result["history"]:
        print(f"stopped after {result['steps']} steps, before the end of the first epoch ({result['stopped']})")
    else:
        print(f"best dev WER {100 * result['best_dev_wer']:.2f}% -> {result['model_dir']}")
    return 0


def cmd_average(args) -> int:
    from asr.train.average import run

    return run(args)


def cmd_score(args) -> int:
    from asr.evaluate.scoring import format_report, read_transcripts, read_utt2spk, score

    utt2spk, audio = None, None
    if args.data_dir:  # speakers and audio (for the HTML report's players) from the data directory
        from asr.data.datadir import read_datadir

        dd = read_datadir(args.data_dir)
        utt2spk, audio = dd.utt2spk, {u: str(dd.audio_path(u)) for u in dd.utt_ids}
    if args.utt2spk:
        utt2spk = read_utt2spk(args.utt2spk)
    report = score(read_transcripts(args.ref), read_transcripts(args.hyp), args.out_dir, utt2spk=utt2spk,
                   audio=audio, title=args.title or f"{args.hyp}")
    print(format_report(report))
    if args.out_dir:
        print(f"report: {args.out_dir}/report.html (and report.md, summary.json, per_utt.txt)", file=sys.stderr)
    return 0


def cmd_import(args) -> int:
    from asr.data.importers import run_import

    return run_import(args)


def cmd_module_run(args) -> int:
    """Commands whose module defines ``add_arguments(parser)`` and ``run(args)``."""
    return importlib.import_module(args.module).run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asr", description="BiLSTM-CTC speech recognition toolkit.",
                                     formatter_class=FORMATTER)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate-data", help="check Kaldi-style data directories", formatter_class=FORMATTER)
    p.add_argument("data_dir", nargs="+")
    p.add_argument("--no-audio", action="store_true", help="skip opening the audio files")
    p.set_defaults(func=cmd_validate_data)

    from asr.data import synth

    p = sub.add_parser("synth-corpus", help="build the synthetic TTS speech corpus", formatter_class=FORMATTER)
    synth.add_arguments(p)
    p.set_defaults(func=cmd_synth_corpus)

    p = sub.add_parser("speak", help="speak a sentence with an eSpeak voice into a wav file",
                       formatter_class=FORMATTER)
    p.add_argument("text")
    p.add_argument("--out", required=True, help="output wav (16 kHz mono)")
    p.add_argument("--voice", help="eSpeak voice such as en-us+m3 (default: a held-out voice of --split)")
    p.add_argument("--split", default="test", choices=["test", "dev"])
    p.add_argument("--rate", type=int, default=175, help="words per minute")
    p.set_defaults(func=cmd_speak)

    from asr.features import commands

    p = sub.add_parser("features", help="extract log-mel features of a data directory", formatter_class=FORMATTER)
    commands.add_arguments(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("features-merge", help="merge the shards of `asr features --shard I/N` runs",
                       formatter_class=FORMATTER)
    commands.add_merge_arguments(p)
    p.set_defaults(func=cmd_features_merge)

    p = sub.add_parser("train", help="train a BiLSTM-CTC model", formatter_class=FORMATTER)
    p.add_argument("--config", help="YAML file with TrainConfig fields")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. epochs=5 model.hidden_size=256")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("average", help="average epoch checkpoints into one model directory",
                       formatter_class=FORMATTER)
    p.add_argument("exp_dir", help="training directory with epoch-N.pt checkpoints and model/")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--last", type=int, default=0, help="average the N last epochs")
    group.add_argument("--best", type=int, default=0, help="average the N epochs of lowest dev WER")
    p.add_argument("out_dir", help="output model directory")
    p.set_defaults(func=cmd_average)

    # Decoding, n-gram LMs and alpha/beta tuning: asr.decode.commands owns their options.
    from asr.decode import commands as decode_commands

    for name, stem, help_ in (
            ("decode", "decode", "decode a data directory: greedy, or beam search with an n-gram LM"),
            ("lm", "lm", "build an n-gram LM (interpolated modified Kneser-Ney, ARPA) and its lexicon"),
            ("tune-lm", "tune", "grid-search LM weight/word score on a dev set; store them in the model dir")):
        p = sub.add_parser(name, help=help_, formatter_class=FORMATTER)
        getattr(decode_commands, f"add_{stem}_arguments")(p)
        p.set_defaults(func=getattr(decode_commands, f"run_{stem}"))

    p = sub.add_parser("score", help="WER/CER of hypotheses against references", formatter_class=FORMATTER)
    p.add_argument("ref", help="reference transcripts: <utt> <words> per line (a data dir's text)")
    p.add_argument("hyp", help="hypotheses in the same format")
    p.add_argument("--out-dir", help="write wer.json, summary.json, per_utt.txt, report.md and report.html here")
    p.add_argument("--data-dir", help="the data dir scored: per-speaker WER (utt2spk), audio players in the report")
    p.add_argument("--utt2spk", help="per-speaker WER from this utt2spk (instead of --data-dir's)")
    p.add_argument("--title", help="report title (default: the hypothesis file)")
    p.set_defaults(func=cmd_score)

    for name, module, help_ in (
            ("transcribe", "asr.transcribe.command", "transcribe audio files of any length (txt/json/srt/vtt/tsv)"),
            ("export", "asr.model.export", "model directory from a training checkpoint, and/or its ONNX network")):
        p = sub.add_parser(name, help=help_, formatter_class=FORMATTER)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(func=cmd_module_run, module=module)

    # Real corpora and unit sets (recipes/librispeech). Each module owns its options.
    from asr.data.importers import add_import_parsers

    p = sub.add_parser("import", help="data directories from LibriSpeech, Common Voice, LJSpeech or any folder",
                       formatter_class=FORMATTER)
    add_import_parsers(p)
    p.set_defaults(func=cmd_import)
    for name, module, help_ in (
            ("combine-data", "asr.data.combine", "combine data directories into one"),
            ("subset-data", "asr.data.subset", "part of a data directory: by speaker prefix, utterance list, count"),
            ("speed-perturb", "asr.data.perturb", "add speed-perturbed copies (e.g. 0.9, 1.1) of a data directory"),
            ("augment", "asr.data.augment", "augmented copies of a data dir: noise, babble, reverb, telephone, ..."),
            ("tokenizer", "asr.text.tokenizer", "build output units (BPE via sentencepiece, or characters)"),
            ("lm-text", "asr.text.lm_corpus", "LM text for real read speech from installed Debian packages")):
        p = sub.add_parser(name, help=help_, formatter_class=FORMATTER)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(func=cmd_module_run, module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        logging.getLogger("asr").error("%s", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
