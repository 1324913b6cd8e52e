"""``asr import <corpus> SRC OUT_DIR``: Kaldi-style data directories from real corpora.

One module per layout (librispeech, commonvoice, ljspeech, folder), each with ``HELP``,
``add_arguments(parser)`` and ``run(args)``; :mod:`asr.data.importers.common` holds what they share.
"""

from __future__ import annotations

import argparse
import importlib

IMPORTERS = ("librispeech", "commonvoice", "ljspeech", "folder")


def _module(name: str):
    return importlib.import_module(f"asr.data.importers.{name}")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, and each module docstring (the layout it reads) kept as written."""


def add_import_parsers(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="corpus", required=True, metavar="{" + ",".join(IMPORTERS) + "}")
    for name in IMPORTERS:
        mod = _module(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__, formatter_class=_Formatter)
        mod.add_arguments(p)


def run_import(args: argparse.Namespace) -> int:
    return _module(args.corpus).run(args)
