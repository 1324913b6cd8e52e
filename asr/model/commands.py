"""Command-line stage of model directories: ``asr export`` (checkpoint -> model directory, and/or ONNX).

The parser is built without torch; :func:`run_export` imports asr.model.export when it runs.
"""

from __future__ import annotations

import argparse

from asr.model.layout import ONNX_MODEL


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="training checkpoint (epoch-N.pt) or model directory")
    p.add_argument("out_dir", nargs="?", help="model directory to write (default for a model directory: itself)")
    p.add_argument("--onnx", action="store_true", help=f"also write {ONNX_MODEL} (pip install 'asr[onnx]')")
    p.add_argument("--feature-config", help="feature_config.json to use instead of the training config's")
    p.add_argument("--tokenizer-dir", help="unit directory to use instead of the training config's")


def run_export(args: argparse.Namespace) -> int:
    from asr.model.export import export

    out = export(args.src, args.out_dir, onnx=args.onnx, feature_config=args.feature_config,
                 tokenizer_dir=args.tokenizer_dir)
    print(f"{args.src} -> {out}" + (f" (with {ONNX_MODEL})" if args.onnx else ""))
    return 0
