"""``asr`` command line: a table of subcommands, each owned by its stage's ``commands`` module.

A row ``(name, module, stem, help)`` means: ``module`` defines ``add_<stem>_arguments(parser)`` and
``run_<stem>(args) -> exit status``. Every ``asr`` call builds the whole parser, so those modules keep
heavy libraries (torch, jiwer, librosa) inside their run functions: ``asr --help`` or a typo should
not wait for torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, ModuleType

from asr.data import commands as data
from asr.decode import commands as decode
from asr.evaluate import commands as evaluate
from asr.features import commands as features
from asr.io import describe_os_error
from asr.model import commands as model
from asr.release import commands as release
from asr.serve import commands as serve
from asr.stream import commands as stream
from asr.text import commands as text
from asr.train import commands as train

FORMATTER = argparse.ArgumentDefaultsHelpFormatter

# In `asr --help` order: data, features, training, decoding, scoring, deployment, then real corpora and units.
COMMANDS: tuple[tuple[str, ModuleType, str, str], ...] = (
    ("validate-data", data, "validate_data", "check Kaldi-style data directories"),
    ("synth-corpus", data, "synth_corpus", "build the synthetic TTS speech corpus"),
    ("speak", data, "speak", "speak a sentence with an eSpeak voice into a wav file"),
    ("features", features, "features", "extract log-mel features of a data directory"),
    ("features-merge", features, "features_merge", "merge the shards of `asr features --shard I/N` runs"),
    ("train", train, "train", "train a BiLSTM-CTC model"),
    ("average", train, "average", "average epoch checkpoints into one model directory"),
    ("decode", decode, "decode", "decode a data directory: greedy, or beam search with an n-gram LM"),
    ("lm", decode, "lm", "build an n-gram LM (interpolated modified Kneser-Ney, ARPA) and its lexicon"),
    ("tune-lm", decode, "tune", "grid-search LM weight/word score on a dev set; store them in the model dir"),
    ("score", evaluate, "score", "WER/CER of hypotheses against references"),
    ("transcribe", stream, "transcribe", "audio files of any length to txt/json/srt/vtt/tsv; --stream: as it arrives"),
    ("serve", serve, "serve", "OpenAI-compatible transcription server (/v1/audio/transcriptions) and a web page"),
    ("models", release, "models", "the model shipped in the package and its card's figures"),
    ("bundle", release, "bundle", "make a tuned model directory the package's shipped model (fp16, gzipped LM, card)"),
    ("export", model, "export", "model directory from a training checkpoint, and/or its ONNX network"),
    ("import", data, "import", "data directories from LibriSpeech, Common Voice, LJSpeech or any folder"),
    ("combine-data", data, "combine_data", "combine data directories into one"),
    ("subset-data", data, "subset_data", "part of a data directory: by speaker prefix, utterance list, count"),
    ("speed-perturb", data, "speed_perturb", "add speed-perturbed copies (e.g. 0.9, 1.1) of a data directory"),
    ("augment", data, "augment", "augmented copies of a data dir: noise, babble, reverb, telephone, ..."),
    ("tokenizer", text, "tokenizer", "build output units (BPE via sentencepiece, or characters)"),
    ("lm-text", text, "lm_text", "LM text for real read speech from installed Debian packages"),
)


DEBUG_ENV = "ASR_DEBUG"
# Exit statuses: 1 bad input or a failed item (the message says which), 2 an internal error (a bug:
# rerun with --debug), 130 interrupted (as shells report SIGINT).
EXIT_INTERRUPTED = 130
EXIT_BUG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asr", description="BiLSTM-CTC speech recognition toolkit.",
                                     formatter_class=FORMATTER)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--debug", action="store_true",
                        help=f"show Python tracebacks of errors (also {DEBUG_ENV}=1); without it an error is one line")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module, stem, help_ in COMMANDS:
        p = sub.add_parser(name, help=help_, formatter_class=FORMATTER)
        getattr(module, f"add_{stem}_arguments")(p)
        p.set_defaults(func=getattr(module, f"run_{stem}"))
    return parser


def describe_error(e: BaseException) -> str:
    """One line for an error that reached the top: the file or field, and the cause."""
    if isinstance(e, OSError):
        return describe_os_error(e)
    if isinstance(e, UnicodeDecodeError):  # a reader that does not name its file (asr.io.read_text does)
        return f"a file is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}): {e.reason}"
    if isinstance(e, json.JSONDecodeError):
        return f"not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
    text = " ".join(str(e).split())  # messages of other libraries may span lines
    if isinstance(e, ValueError) or type(e).__module__.startswith(("yaml", "safetensors")):
        return text or type(e).__name__
    return f"internal error: {type(e).__name__}: {text} (rerun with --debug for the traceback, and report it)"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main process so that ``finally`` blocks remove temporary files."""


def _on_sigterm(main_pid: int) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != main_pid:  # a forked worker dies as it would have (its parent cleans up)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated()
    return handler


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    log = logging.getLogger("asr")
    previous = None
    # Only the main thread may set handlers; a host that set its own (an embedding program) keeps it.
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous = signal.signal(signal.SIGTERM, _on_sigterm(os.getpid()))
    try:
        return args.func(args)
    except KeyboardInterrupt as e:
        if debug:
            raise
        log.error("%s; partial outputs were removed, finished ones are kept",
                  "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 -- the one place errors become messages
        if debug:
            raise
        message = describe_error(e)
        log.error("%s", message)
        return EXIT_BUG if message.startswith("internal error") else 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
