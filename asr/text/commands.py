"""Command line of the text stage: ``asr tokenizer`` (output units) and ``asr lm-text`` (LM training text).

Building the parsers imports no heavy library (sentencepiece is loaded by the run functions only).
"""

from __future__ import annotations

import argparse

from asr.config import add_config_arguments, config_from_args
from asr.text.lm_corpus import DEFAULT_SOURCES, EXCLUDE_NGRAM, SOURCES, SourcePaths
from asr.text.tokenizer import UNIT_TYPES


def add_tokenizer_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr tokenizer``."""
    p.add_argument("text", help="training text: a data directory (its `text`) or a plain text file, one "
                                "sentence per line (normalized here)")
    p.add_argument("out_dir", help="unit directory to write (tokens.txt, and bpe.model for BPE)")
    p.add_argument("--type", dest="units", default="bpe", choices=UNIT_TYPES)
    p.add_argument("--vocab-size", type=int, default=500, help="BPE pieces, <blk> and <unk> included")


def run_tokenizer(args: argparse.Namespace) -> int:
    """Build a unit directory and show how it splits an example sentence."""
    from asr.text.tokenizer import train_tokenizer

    tok = train_tokenizer(args.text, args.out_dir, args.units, args.vocab_size)
    example = "the quick brown fox"
    pieces = [tok.symbols[i] for i in tok.encode(example)]
    print(f"{args.out_dir}: {len(tok)} {args.units} units (id 0 = <blk>); {example!r} -> {' '.join(pieces)}")
    return 0


def add_lm_text_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr lm-text``; the source locations come from :class:`~asr.text.lm_corpus.SourcePaths`."""
    p.add_argument("out", help="text file to write: one normalized sentence per line (input of `asr lm`)")
    p.add_argument("--sources", default=",".join(DEFAULT_SOURCES),
                   help=f"comma-separated packaged texts, of: {', '.join(SOURCES)}; '' for none")
    p.add_argument("--include", nargs="*", default=[], metavar="PATH",
                   help="more text: plain text files (one sentence a line) or data dirs (their transcripts)")
    p.add_argument("--exclude", nargs="*", default=[], metavar="PATH",
                   help=f"data dirs / text files of evaluation utterances: LM sentences equal to one, or sharing "
                        f"{EXCLUDE_NGRAM} consecutive words with one, are left out")
    add_config_arguments(p, SourcePaths)


def run_lm_text(args: argparse.Namespace) -> int:
    """Write the LM text and one line of counts per source."""
    from asr.text.lm_corpus import build_lm_text

    sources = [s for s in args.sources.split(",") if s.strip()]
    if not sources and not args.include:
        raise ValueError("no text: give --sources and/or --include")
    stats = build_lm_text(args.out, sources, args.include, args.exclude, config_from_args(SourcePaths, args))
    for name, st in stats.items():
        licence = f" ({SOURCES[name].package}, {SOURCES[name].licence})" if name in SOURCES else ""
        print(f"{name}{licence}: {st['sentences']} sentences, {st['words']} words"
              + (f"; {st['excluded']} left out as overlapping --exclude" if args.exclude else ""))
    total = sum(st["words"] for st in stats.values())
    print(f"{args.out}: {sum(st['sentences'] for st in stats.values())} sentences, {total} words")
    return 0
