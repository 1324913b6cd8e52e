"""Command-line stages of decoding: ``asr decode``, ``asr lm``, ``asr tune-lm``.

Their flags come from the dataclasses (DecodeConfig, TuneConfig: asr.decode.config; NgramConfig:
asr.decode.ngram_lm), which import no torch, so the CLI builds its parser quickly; the stages
themselves are imported when they run.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path

from asr.config import add_config_arguments, config_from_args
from asr.decode.config import BATCH_SECONDS, BEAM_OPTIONS, DecodeConfig, TuneConfig
from asr.decode.ngram_lm import NgramConfig
from asr.io import InputError, atomic_write_text, check_output_dir

log = logging.getLogger(__name__)

UNSET_HELP = "unset: the model's decode.json, else"


def add_decode_options(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--greedy`` and one flag per DecodeConfig field, unset (None) unless given: a caller puts
    them over the model's decode.json (asr.decode.config.resolve_decode_config)."""
    p.add_argument("--greedy", action="store_true", help="greedy search even if the model has a tuned decode.json")
    add_config_arguments(p, DecodeConfig, unset=BEAM_OPTIONS, unset_help=UNSET_HELP)


def decode_options(args: argparse.Namespace) -> dict:
    """The DecodeConfig flags of :func:`add_decode_options` as keyword arguments (None: not given)."""
    return {k: getattr(args, k) for k in BEAM_OPTIONS}


def add_decode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="[MODEL] DATA OUT",
                   help="model directory (default: the model shipped in the package), data directory, and the "
                        "output directory (receives hyp.txt, ref.txt and decode_config.json)")
    p.add_argument("-m", "--model", help="model directory (instead of the first path)")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-seconds", type=float, default=BATCH_SECONDS, help="audio per forward batch")
    p.add_argument("--nj", type=int, default=0, help="beam search processes (0: one per CPU core)")
    add_decode_options(p.add_argument_group("decoding: greedy, or beam search (torchaudio ctc_decoder / flashlight)"))


def model_and_paths(args: argparse.Namespace, n: int) -> list[str]:
    """``[MODEL] P1..Pn`` positionals and ``-m MODEL``: sets ``args.model_dir`` (the bundled model's when no
    model is given) and returns the ``n`` other paths."""
    from asr.model.bundled import resolve_model_dir

    paths = list(args.paths)
    if len(paths) == n + 1:
        if args.model:
            raise ValueError(f"a model given twice: -m {args.model} and the path {paths[0]}")
        args.model = paths.pop(0)
    elif len(paths) != n:
        raise ValueError(f"expected {n} paths after an optional model directory, got {len(paths)}: {paths}")
    args.model_dir = str(resolve_model_dir(args.model))
    return paths


def run_decode(args: argparse.Namespace) -> int:
    from asr.data.datadir import read_datadir
    from asr.decode.config import resolve_decode_config
    from asr.decode.decode_data import SKIPPED_FILE, decode_datadir
    from asr.decode.decoder import build_decoder
    from asr.model.runtime import ModelRuntime

    args.data_dir, args.out_dir = model_and_paths(args, 2)
    if args.greedy and (args.beam or args.lm or args.lexicon):
        raise ValueError("--greedy contradicts --beam/--lm/--lexicon")
    if not args.batch_seconds > 0:
        raise ValueError(f"--batch-seconds {args.batch_seconds}: must be > 0")
    if args.nj < 0:
        raise ValueError(f"--nj {args.nj}: must be >= 0 (0: one process per CPU core)")
    # Everything that can be checked is, before the model loads and the data is decoded.
    num_utts = len(read_datadir(args.data_dir, segments=True))
    cfg = resolve_decode_config(args.model_dir, greedy=args.greedy, **decode_options(args))
    runtime = ModelRuntime(args.model_dir, args.device)
    decoder = build_decoder(cfg, runtime.tokenizer)
    check_output_dir(args.out_dir)  # created only once the model and its decoder are known to load
    log.info("%s: %s decoding%s", args.data_dir, cfg.name,
             f" (lm {cfg.lm}, alpha {cfg.lm_weight:g}, beta {cfg.word_score:g})" if cfg.lm else "")
    skipped: dict[str, str] = {}
    decode_datadir(runtime, args.data_dir, args.out_dir, batch_seconds=args.batch_seconds, decoder=decoder,
                   nj=args.nj, skipped=skipped)
    atomic_write_text(Path(args.out_dir) / "decode_config.json", json.dumps(asdict(cfg), indent=2) + "\n")
    tail = (f"; {len(skipped)} of {num_utts} utterances skipped (empty hypotheses), listed in "
            f"{Path(args.out_dir) / SKIPPED_FILE}" if skipped else "")
    print(f"hypotheses ({cfg.name}): {args.out_dir}/hyp.txt{tail}")
    return 1 if skipped and len(skipped) == num_utts else 0


def add_lm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help="training text: one sentence per line, or a data dir / its text file (ids dropped)")
    p.add_argument("out", help="OUT.arpa (lexicon: OUT.lexicon.txt), or a directory (lm.arpa + lexicon.txt)")
    p.add_argument("--binary", action="store_true",
                   help="also write KenLM's binary form (OUT.bin, or lm.bin in the directory), which the decoder "
                        "loads in milliseconds: needs KenLM's build_binary (recipes/tools/install_kenlm.sh)")
    p.add_argument("--build-binary", metavar="PATH", help="KenLM's build_binary (default: $ASR_KENLM_BUILD_BINARY, "
                   "else build_binary beside python or on PATH)")
    add_config_arguments(p, NgramConfig)


def run_lm(args: argparse.Namespace) -> int:
    from asr.decode.beam import LM_DIR_ARPA, lexicon_path_for
    from asr.decode.kenlm_binary import TOOL_ENV, build_kenlm_binary, find_build_binary
    from asr.decode.lexicon import write_lexicon
    from asr.decode.ngram_lm import build_lm, write_arpa

    cfg = config_from_args(NgramConfig, args)
    out = Path(args.out)
    arpa = out if out.suffix == ".arpa" else out / LM_DIR_ARPA
    tool = None
    if args.binary:  # before the (long) estimation: a missing tool is known now
        if cfg.unit != "word":
            raise InputError("--binary: the decoder takes binary word LMs only (a character LM stays ARPA)")
        tool = find_build_binary(args.build_binary)
        if tool is None:
            raise InputError("--binary needs KenLM's build_binary: run recipes/tools/install_kenlm.sh, or give "
                             f"--build-binary PATH (or set {TOOL_ENV})")
    model = build_lm(args.text, cfg)
    write_arpa(model, arpa)
    counts = " ".join(f"{n}-grams {c}" for n, c in enumerate(model.counts(), 1))
    print(f"{arpa}: {cfg.order}-gram {cfg.unit} LM, modified Kneser-Ney; {counts}")
    print("discounts D1/D2/D3+ per order: " + "; ".join("/".join(f"{x:.3f}" for x in d) for d in model.discounts))
    if cfg.unit == "word":
        lex = write_lexicon(model.vocab, lexicon_path_for(arpa))
        print(f"{lex}: {len(model.vocab) - 3} words")
    if tool is not None:
        binary = build_kenlm_binary(arpa, arpa.with_suffix(".bin"), tool)
        print(f"{binary}: KenLM binary ({binary.stat().st_size / 1e6:.1f} MB), loaded instead of {arpa.name}")
    return 0


def add_tune_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir")
    p.add_argument("dev_data", help="dev data directory")
    p.add_argument("--device", default="auto")
    add_config_arguments(p, TuneConfig)


def run_tune(args: argparse.Namespace) -> int:
    from asr.decode.tune import format_grid, tune_lm
    from asr.model.runtime import ModelRuntime

    if not args.lm:
        raise ValueError("asr tune-lm needs --lm (an ARPA file or an `asr lm` directory)")
    cfg = config_from_args(TuneConfig, args)
    res = tune_lm(ModelRuntime(args.model_dir, args.device), args.model_dir, args.dev_data, cfg)
    print(f"dev WER (%) by LM weight alpha and word score beta, beam {cfg.beam}:")
    print(format_grid(res))
    print(f"greedy dev WER {100 * res.greedy_dev_wer:.2f}%; best alpha {res.lm_weight:g} beta {res.word_score:g} "
          f"-> dev WER {100 * res.dev_wer:.2f}% ({res.seconds:.0f} s); written to {res.decode_json}"
          + (f" with beam {cfg.decode_beam}" if cfg.decode_beam else ""))
    return 0
