"""``asr`` command line: parses arguments and dispatches to the stage modules."""

from __future__ import annotations

import argparse
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
    from asr.features.extract import extract_features
    from asr.features.logmel import FeatureConfig

    res = extract_features(args.data_dir, args.out_dir, FeatureConfig(n_mels=args.n_mels), nj=args.nj,
                           compute_cmvn=args.cmvn)
    print(f"{args.data_dir}: {res.num_done} utterances, {res.num_frames} frames, "
          f"{len(res.skipped)} skipped -> {args.out_dir}")
    return 0 if res.num_done else 1


def cmd_train(args) -> int:
    from asr.config import load_config
    from asr.train.trainer import TrainConfig, train

    cfg = load_config(TrainConfig, args.config, args.overrides)
    result = train(cfg)
    print(f"best dev WER {100 * result['best_dev_wer']:.2f}% -> {result['model_dir']}")
    return 0


def cmd_decode(args) -> int:
    from asr.decode.decode_data import decode_datadir
    from asr.transcribe import Recognizer

    decode_datadir(Recognizer(args.model_dir, args.device), args.data_dir, args.out_dir)
    print(f"hypotheses: {args.out_dir}/hyp.txt")
    return 0


def cmd_score(args) -> int:
    from asr.evaluate.scoring import format_report, read_transcripts, score

    report = score(read_transcripts(args.ref), read_transcripts(args.hyp), args.out_dir)
    print(format_report(report))
    return 0


def cmd_transcribe(args) -> int:
    from asr.data.audio import AudioError
    from asr.transcribe import Recognizer

    rec = Recognizer(args.model_dir, args.device)
    failures = 0
    for path in args.files:
        try:
            text = rec.transcribe(path)
        except AudioError as e:
            print(f"error: {e}", file=sys.stderr)
            failures += 1
            continue
        print(f"{path}\t{text}" if len(args.files) > 1 else text)
    return 1 if failures else 0


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

    p = sub.add_parser("features", help="extract log-mel features of a data directory", formatter_class=FORMATTER)
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--nj", type=int, default=2, help="parallel processes")
    p.add_argument("--n-mels", type=int, default=80)
    p.add_argument("--cmvn", action="store_true", help="also write global CMVN stats (training set)")
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("train", help="train a BiLSTM-CTC model", formatter_class=FORMATTER)
    p.add_argument("--config", help="YAML file with TrainConfig fields")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. epochs=5 model.hidden_size=256")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("decode", help="greedy-decode a data directory", formatter_class=FORMATTER)
    p.add_argument("model_dir")
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("score", help="WER/CER of hypotheses against references", formatter_class=FORMATTER)
    p.add_argument("ref", help="reference transcripts: <utt> <words> per line (a data dir's text)")
    p.add_argument("hyp", help="hypotheses in the same format")
    p.add_argument("--out-dir", help="write wer.json and per_utt.txt (aligned REF/HYP) here")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("transcribe", help="transcribe audio files", formatter_class=FORMATTER)
    p.add_argument("model_dir")
    p.add_argument("files", nargs="+")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_transcribe)
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
