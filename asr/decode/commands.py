"""Command-line stages of decoding: ``asr decode``, ``asr lm``, ``asr tune-lm``.

Options are defined here and read lazily (no torch import) when the parser is built.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _add_beam_options(p: argparse.ArgumentParser, tuning: bool = False) -> None:
    g = p.add_argument_group("beam search (torchaudio ctc_decoder / flashlight)")
    g.add_argument("--lm", help="ARPA LM file, or an `asr lm` output directory (lm.arpa + lexicon.txt)")
    g.add_argument("--lexicon", help="word spellings; unset: the one `asr lm` wrote next to the LM")
    if not tuning:
        g.add_argument("--beam", type=int, help="beam width; unset: decode.json's, else 50 with --lm, else greedy")
        g.add_argument("--lm-weight", type=float, help="alpha; unset: decode.json's tuned value, else 1")
        g.add_argument("--word-score", type=float, help="beta, bonus per word; unset: decode.json's, else 0")
    g.add_argument("--beam-threshold", type=float, help="prune hypotheses this far below the best; unset: 25")


def add_decode_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir")
    p.add_argument("data_dir")
    p.add_argument("out_dir", help="receives hyp.txt, ref.txt and decode_config.json")
    p.add_argument("--device", default="auto")
    p.add_argument("--greedy", action="store_true", help="greedy search even if the model has a tuned decode.json")
    p.add_argument("--batch-seconds", type=float, default=240.0, help="audio per forward batch")
    _add_beam_options(p)


def run_decode(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from asr.decode.decode_data import decode_datadir
    from asr.decode.decoder import build_decoder, resolve_decode_config
    from asr.transcribe import Recognizer

    if args.greedy and (args.beam or args.lm or args.lexicon):
        raise ValueError("--greedy contradicts --beam/--lm/--lexicon")
    cfg = resolve_decode_config(args.model_dir, beam=args.beam, lm=args.lm, lexicon=args.lexicon,
                                lm_weight=args.lm_weight, word_score=args.word_score, greedy=args.greedy,
                                beam_threshold=args.beam_threshold)
    rec = Recognizer(args.model_dir, args.device)
    decoder = build_decoder(cfg, rec.tokenizer)
    log.info("%s: %s decoding%s", args.data_dir, cfg.name,
             f" (lm {cfg.lm}, alpha {cfg.lm_weight:g}, beta {cfg.word_score:g})" if cfg.lm else "")
    decode_datadir(rec, args.data_dir, args.out_dir, batch_seconds=args.batch_seconds, decoder=decoder)
    (Path(args.out_dir) / "decode_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    print(f"hypotheses ({cfg.name}): {args.out_dir}/hyp.txt")
    return 0


def add_lm_arguments(p: argparse.ArgumentParser) -> None:
    from asr.decode.ngram_lm import NgramConfig

    d = NgramConfig()
    p.add_argument("text", help="training text: one sentence per line, or a data dir / its text file (ids dropped)")
    p.add_argument("out", help="OUT.arpa (lexicon: OUT.lexicon.txt), or a directory (lm.arpa + lexicon.txt)")
    p.add_argument("--order", type=int, default=d.order)
    p.add_argument("--unit", choices=["word", "char"], default=d.unit,
                   help="word LM (decoded with its lexicon) or character LM (lexicon-free decoding)")
    p.add_argument("--discounts", type=_floats, help="fixed D1,D2,D3+ for every order instead of the estimated ones")


def run_lm(args: argparse.Namespace) -> int:
    from asr.decode.beam import LM_DIR_ARPA, lexicon_path_for
    from asr.decode.lexicon import write_lexicon
    from asr.decode.ngram_lm import NgramConfig, build_lm, write_arpa

    discounts = tuple(args.discounts) if args.discounts else None
    if discounts is not None and len(discounts) != 3:
        raise ValueError(f"--discounts needs 3 values (D1,D2,D3+), got {len(discounts)}")
    cfg = NgramConfig(order=args.order, unit=args.unit, discounts=discounts)
    out = Path(args.out)
    arpa = out if out.suffix == ".arpa" else out / LM_DIR_ARPA
    model = build_lm(args.text, cfg)
    write_arpa(model, arpa)
    counts = " ".join(f"{n}-grams {c}" for n, c in enumerate(model.counts(), 1))
    print(f"{arpa}: {cfg.order}-gram {cfg.unit} LM, modified Kneser-Ney; {counts}")
    print("discounts D1/D2/D3+ per order: " + "; ".join("/".join(f"{x:.3f}" for x in d) for d in model.discounts))
    if cfg.unit == "word":
        lex = write_lexicon(model.vocab, lexicon_path_for(arpa))
        print(f"{lex}: {len(model.vocab) - 3} words")
    return 0


def add_tune_arguments(p: argparse.ArgumentParser) -> None:
    from asr.decode.tune_config import TuneConfig

    d = TuneConfig(lm="")
    p.add_argument("model_dir")
    p.add_argument("dev_data", help="dev data directory")
    p.add_argument("--device", default="auto")
    p.add_argument("--beam", type=int, default=d.beam)
    p.add_argument("--lm-weights", type=_floats, default=d.lm_weights, help="alpha grid, comma-separated")
    p.add_argument("--word-scores", type=_floats, default=d.word_scores, help="beta grid, comma-separated")
    p.add_argument("--no-copy", action="store_true",
                   help="refer to the LM where it is instead of copying it into the model directory")
    _add_beam_options(p, tuning=True)


def run_tune(args: argparse.Namespace) -> int:
    from asr.decode.tune import format_grid, tune_lm
    from asr.decode.tune_config import TuneConfig
    from asr.transcribe import Recognizer

    if not args.lm:
        raise ValueError("asr tune-lm needs --lm (an ARPA file or an `asr lm` directory)")
    cfg = TuneConfig(lm=args.lm, lexicon=args.lexicon or "", beam=args.beam, lm_weights=args.lm_weights,
                     word_scores=args.word_scores, copy_lm=not args.no_copy,
                     **({"beam_threshold": args.beam_threshold} if args.beam_threshold is not None else {}))
    res = tune_lm(Recognizer(args.model_dir, args.device), args.model_dir, args.dev_data, cfg)
    print(f"dev WER (%) by LM weight alpha and word score beta, beam {cfg.beam}:")
    print(format_grid(res))
    print(f"greedy dev WER {100 * res.greedy_dev_wer:.2f}%; best alpha {res.lm_weight:g} beta {res.word_score:g} "
          f"-> dev WER {100 * res.dev_wer:.2f}% ({res.seconds:.0f} s); written to {res.decode_json}")
    return 0
