"""``asr transcribe [-m MODEL] FILE...``: transcripts of audio files, to stdout or to files in several formats.

Without ``--output-dir`` the transcript goes to stdout: txt is the text (one line per segment;
``FILE<TAB>text`` per file when there are several files), json is one JSON object per file (one
per line when there are several). srt/vtt/tsv of several files, and ``all``, need ``--output-dir``,
which receives ``<stem>.<format>`` per file (``stdin`` for ``-``; ``-2``, ``-3``... when stems repeat).

A file that cannot be transcribed (missing, a directory, not audio, no samples, no speech) gets
a message on stderr and the others are still transcribed; the exit status is then 1.

Without ``-m/--model`` the model shipped in the package transcribes (asr.model.bundled). The older
form ``asr transcribe MODEL FILE...`` still works: a first argument that is a model directory (it
holds a config.json) is taken as the model.

The decoding flags are ``asr decode``'s (asr.decode.commands), the segmentation flags VadConfig's;
the parser is built without torch, which :func:`run_transcribe` imports.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

from asr.config import add_config_arguments, config_from_args
from asr.decode.commands import add_decode_options, decode_options
from asr.io import check_output_dir, describe_os_error
from asr.model.layout import BACKENDS
from asr.transcribe.formats import FORMATS, render, write_outputs
from asr.transcribe.segmenter import BATCH_SECONDS, VadConfig

log = logging.getLogger(__name__)

VAD_FLAGS = ("min_silence_s", "pad_s", "max_segment_s")  # the VadConfig fields users tune


def add_transcribe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="audio files (anything soundfile reads); - reads stdin. A first FILE that is a model "
                        "directory is the model (the older `asr transcribe MODEL FILE...`)")
    p.add_argument("-m", "--model", help="model directory (default: the model shipped in the package)")
    p.add_argument("--output-format", "-f", default="txt", choices=[*FORMATS, "all"])
    p.add_argument("--output-dir", "-o", help="write <stem>.<format> here instead of printing")
    p.add_argument("--device", default="auto")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="network runtime (onnx: model.onnx on the CPU); auto: PyTorch, or model.onnx in a "
                        "directory without weights")
    p.add_argument("--onnx", dest="backend", action="store_const", const="onnx", help="same as --backend onnx")
    add_decode_options(p.add_argument_group("decoding (as `asr decode`: unset options come from the model's "
                                            "decode.json)"))
    g = p.add_argument_group("long audio")
    add_config_arguments(g, VadConfig, only=VAD_FLAGS)
    g.add_argument("--batch-seconds", type=float, default=BATCH_SECONDS, help="audio decoded per batch")
    g.add_argument("--no-progress", action="store_true", help="no progress bar (it is shown on a terminal only)")


def output_stems(files: list[str]) -> list[str]:
    """Output file names without extension, one per input, unique."""
    seen: Counter[str] = Counter()
    stems = []
    for f in files:
        stem = "stdin" if f == "-" else Path(f).stem
        seen[stem] += 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def run_transcribe(args: argparse.Namespace) -> int:
    from asr.data.audio import AudioError
    from asr.decode.decoder import make_decoder
    from asr.model.bundled import is_model_dir, resolve_model_dir
    from asr.transcribe.recognizer import Recognizer

    if args.model is None and is_model_dir(args.files[0]):
        if len(args.files) == 1:
            raise ValueError(f"{args.files[0]} is a model directory: give audio files after it, or "
                             "`asr transcribe -m MODEL FILE...`")
        args.model = args.files.pop(0)
    args.model_dir = str(resolve_model_dir(args.model))
    formats = list(FORMATS) if args.output_format == "all" else [args.output_format]
    several = len(args.files) > 1
    one_file_formats = ("srt", "vtt", "tsv", "all")  # several of these cannot share stdout
    if not args.output_dir and (args.output_format == "all" or several) and args.output_format in one_file_formats:
        raise ValueError(f"--output-format {args.output_format} with {len(args.files)} file(s) needs --output-dir")
    if args.output_dir:  # a bad -o fails now, not after every file is decoded
        check_output_dir(args.output_dir)
    rec = Recognizer(args.model_dir, args.device, backend=args.backend, decoder="greedy",
                     vad=config_from_args(VadConfig, args), batch_seconds=args.batch_seconds)
    rec.decoder = make_decoder(args.model_dir, rec.tokenizer, greedy=args.greedy, **decode_options(args))
    log.info("%s: %s backend on %s, %s decoding", args.model_dir, rec.backend, rec.device, rec.decoder.name)
    failures = 0
    for path, stem in zip(args.files, output_stems(args.files), strict=True):
        try:
            transcript = rec.recognize(path, progress=not args.no_progress)
        except AudioError as e:
            print(f"error: {e}", file=sys.stderr)
            failures += 1
            continue
        if not transcript.segments:
            print(f"error: {transcript.source}: no speech found ({transcript.duration:.1f} s of silence or noise)",
                  file=sys.stderr)
            failures += 1  # the (empty) outputs are still written, so every input has its files
        if args.output_dir:
            try:
                write_outputs(transcript, args.output_dir, stem, formats)
            except OSError as e:  # disk full, permissions: this file failed, the next ones may not
                print(f"error: {path}: {describe_os_error(e)}", file=sys.stderr)
                failures += 1
                continue
        elif args.output_format == "txt":
            print(f"{path}\t{transcript.text}" if several else render(transcript, "txt"), end="\n" if several else "")
        elif args.output_format == "json":
            print(json.dumps(transcript.to_dict(), ensure_ascii=False) if several else render(transcript, "json"),
                  end="\n" if several else "")
        else:
            print(render(transcript, args.output_format), end="")
        sys.stdout.flush()
    if failures:
        print(f"{failures} of {len(args.files)} file(s) failed", file=sys.stderr)
    return 1 if failures else 0
