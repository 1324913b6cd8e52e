"""``asr serve [-m MODEL] [--host 127.0.0.1] [--port 8000]``: the OpenAI-compatible transcription server and its page.

One model is loaded once (the package's own without ``-m``); greedy decoding unless ``--beam``.
The parser needs neither torch nor the ``asr[serve]`` extra; :func:`run_serve` imports them.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from asr.config import add_config_arguments, config_from_args
from asr.model.layout import BACKENDS
from asr.serve.config import ServeConfig, cpu_cores

log = logging.getLogger(__name__)

API_KEY_ENV = "ASR_API_KEY"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
EXTRA_MODULES = ("starlette", "uvicorn", "multipart")  # the asr[serve] extra (python-multipart imports as multipart)


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", help="model directory (default: the model shipped in the package)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface; then set "
                                                      "--api-key)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--api-key", help=f"require 'Authorization: Bearer KEY' on /v1/ (default: ${API_KEY_ENV}; unset "
                                     "or empty: no key)")
    p.add_argument("--model-name", help="the model's id in /v1/models (default: asr, or the model directory's name)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="network runtime (onnx: model.onnx on the CPU); auto: PyTorch, or model.onnx in a directory "
                        "without weights")
    p.add_argument("--stream-model", help="streaming model directory for live transcription (/v1/audio/stream and "
                                          "the page's live captions; default: the one shipped in the package)")
    p.add_argument("--no-stream", action="store_true", help="no live transcription")
    p.add_argument("--beam", action="store_true", help="the model's tuned beam search (decode.json) instead of "
                                                       "greedy: better WER, slower")
    add_config_arguments(p.add_argument_group("load and limits"), ServeConfig)


def run_serve(args: argparse.Namespace) -> int:
    from asr.model.bundled import has_bundled_model, has_bundled_stream_model

    if not args.model and not has_bundled_model():
        raise ValueError("no model is shipped in this installation: give a model directory with -m/--model")
    missing = [m for m in EXTRA_MODULES if not _importable(m)]
    if missing:
        raise ValueError(f"asr serve needs the serve extra (missing {', '.join(missing)}): pip install 'asr[serve]'")
    import torch

    from asr.serve.app import create_app
    from asr.serve.engine import Engine
    from asr.serve.server import run
    from asr.transcribe.recognizer import load_model

    cfg = config_from_args(ServeConfig, args)
    torch.set_num_threads(max(1, cpu_cores() // cfg.n_workers))  # each worker's batch on its own core(s)
    rec = load_model(args.model, device=args.device, backend=args.backend, decoder=None if args.beam else "greedy")
    model_id = args.model_name or (Path(args.model).resolve().name if args.model else "asr")
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    if args.host not in LOOPBACK and not api_key:
        log.warning("listening on %s without an API key: anyone who reaches it can use it (--api-key)", args.host)
    log.info("%s: %s backend, %s decoding, %d worker(s); page on http://%s:%d/", rec.model_dir, rec.backend,
             rec.decoder.name, cfg.n_workers, args.host, args.port)
    streaming = None
    if args.stream_model or (not args.no_stream and has_bundled_stream_model()):
        from asr.stream.recognizer import StreamingRecognizer

        streaming = StreamingRecognizer(args.stream_model, args.device, decoder="beam" if args.beam else "greedy")
        log.info("%s: live streams on ws://%s:%d/v1/audio/stream (at most %d)", streaming.runtime.model_dir,
                 args.host, args.port, cfg.max_streams)
    run(create_app(Engine(rec, cfg), model_id, api_key, streaming), args.host, args.port,
        log_level=args.log_level.lower())
    return 0


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
