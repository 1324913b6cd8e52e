"""``asr transcribe --stream``: transcripts that appear while the audio arrives.

The ``transcribe`` command is asr.transcribe's, with streaming flags added here (this package sits
above it). Without ``--stream``/``--mic`` it is the offline command unchanged. With them, a streaming
model (recipes/synth/stream.sh) reads each FILE (``--realtime``: at the speed of speech), stdin (``-``:
a wav, or raw 16-bit PCM at ``--raw-rate``, read as it arrives) or the microphone (``--mic``, needs
the optional ``sounddevice``). On a terminal the current partial result is rewritten in place and each
finished segment printed as a line; elsewhere only the final lines are printed, or with ``--jsonl``
every event as one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys

from asr.transcribe import commands as offline

log = logging.getLogger(__name__)

PIECE_MS = 100.0


def add_transcribe_arguments(p: argparse.ArgumentParser) -> None:
    offline.add_transcribe_arguments(p)
    for action in p._actions:  # --mic needs no FILE
        if action.dest == "files":
            action.nargs = "*"
    g = p.add_argument_group("streaming (a streaming model: partial results while audio arrives)")
    g.add_argument("--stream", action="store_true", help="transcribe as the audio arrives (FILE, or - for stdin)")
    g.add_argument("--mic", action="store_true", help="stream from the microphone until Ctrl-C (needs sounddevice)")
    g.add_argument("--piece-ms", type=float, default=PIECE_MS, help="audio fed to the recognizer at a time, ms")
    g.add_argument("--realtime", action="store_true", help="feed files no faster than they would be spoken")
    g.add_argument("--raw-rate", type=int, default=16000, help="sample rate of raw 16-bit PCM on stdin")
    g.add_argument("--endpoint", type=float, default=0.6, help="seconds of no output that end a segment")
    g.add_argument("--jsonl", action="store_true", help="print every event (partial, final) as a JSON line")


def run_transcribe(args: argparse.Namespace) -> int:
    if not (args.stream or args.mic):
        if not args.files:
            raise ValueError("give audio files to transcribe (or --mic)")
        return offline.run_transcribe(args)
    from asr.data.audio import AudioError
    from asr.model.bundled import is_model_dir
    from asr.stream.recognizer import StreamingRecognizer
    from asr.stream.sources import file_pieces, microphone_pieces, require_sounddevice, stdin_pieces

    if args.model is None and args.files and is_model_dir(args.files[0]):
        args.model = args.files.pop(0)
    if args.mic and args.files:
        raise ValueError("--mic takes no FILE arguments")
    if not args.mic and not args.files:
        raise ValueError("give files to stream (- for stdin) or --mic")
    if args.output_dir or args.output_format != "txt":
        raise ValueError("--stream prints to stdout (text, or --jsonl); --output-dir/--output-format are for "
                         "offline transcription")
    if not 1 <= args.piece_ms <= 10000:
        raise ValueError(f"--piece-ms must be between 1 and 10000, got {args.piece_ms}")
    if args.mic:
        try:
            require_sounddevice()  # before the model loads: a missing package is found in a second
        except AudioError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    device = "cpu" if args.device == "auto" else args.device  # one stream: the CPU keeps up, a GPU adds latency
    rec = StreamingRecognizer(args.model, device, decoder="greedy" if args.greedy else None,
                              endpoint_s=args.endpoint)
    log.info("%s: streaming, %s decoding, at most %.0f ms of look-ahead", rec.runtime.model_dir,
             rec.decoder_name, rec.latency_s * 1000)
    out = _Printer(args.jsonl, sys.stdout)
    piece_s = args.piece_ms / 1000
    sources = ["<mic>"] if args.mic else args.files
    failures = 0
    for name in sources:
        if args.mic:
            pieces = microphone_pieces(rec.sample_rate, piece_s)
        elif name == "-":
            pieces = stdin_pieces(rec.sample_rate, piece_s, args.raw_rate)
        else:
            pieces = file_pieces(name, rec.sample_rate, piece_s, realtime=args.realtime)
        try:
            out.begin(name if len(sources) > 1 else "")
            for event in rec.stream(pieces):
                out.event(event)
        except AudioError as e:
            out.clear()
            print(f"error: {e}", file=sys.stderr)
            failures += 1
        except KeyboardInterrupt:
            out.clear()
            break
    return 1 if failures else 0


class _Printer:
    """Events to a stream: JSON lines, or final lines with the partial rewritten in place on a terminal."""

    def __init__(self, jsonl: bool, stream):
        self.jsonl, self.stream = jsonl, stream
        self.inplace = not jsonl and stream.isatty()
        self.source = ""
        self.shown = False

    def begin(self, source: str) -> None:
        self.source = source

    def event(self, event) -> None:
        if self.jsonl:
            d = event.to_dict()
            if self.source:
                d["source"] = self.source
            self.stream.write(json.dumps(d) + "\n")
        elif event.kind == "final":
            self.clear()
            self.stream.write((f"{self.source}\t" if self.source else "") + event.text + "\n")
        elif self.inplace:
            width = shutil.get_terminal_size().columns - 1
            text = event.text if len(event.text) <= width else "…" + event.text[-(width - 1):]
            self.stream.write("\r\033[K" + text)
            self.shown = True
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.shown = False
