"""``asr tune-lm``: grid search of the LM weight α and word bonus β on a dev set.

The acoustic model runs once over the dev set; its log-probs are kept (CPU, float32) and decoded
with every (α, β) by one loaded LM. The best pair (lowest dev WER; ties: the smaller α, then the
smaller |β|) is written to ``<model_dir>/decode.json``, which ``asr decode`` and beam-search
transcription use from then on. By default the LM and lexicon are copied into the model directory
so that it stays self-contained.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from asr.data.datadir import read_datadir
from asr.decode.beam import LM_DIR_ARPA, LM_DIR_LEXICON, BeamSearchDecoder, resolve_lm
from asr.decode.config import BATCH_SECONDS, DecodeConfig, TuneConfig, save_decode_config
from asr.decode.decode_data import datadir_log_probs, decode_batch
from asr.decode.decoder import Decoder, GreedyDecoder
from asr.decode.kenlm_binary import BINARY_NAME, is_kenlm_binary
from asr.decode.parallel import DecoderPool, PooledDecoder
from asr.evaluate.scoring import score
from asr.model.runtime import ModelRuntime

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    lm_weight: float
    word_score: float
    dev_wer: float
    greedy_dev_wer: float
    grid: list[dict]  # {"lm_weight", "word_score", "wer"} per point
    decode_json: Path
    seconds: float


def dev_log_probs(runtime: ModelRuntime, dev_dir: str | os.PathLike, batch_seconds: float = BATCH_SECONDS,
                  ) -> list[tuple[list[str], torch.Tensor, torch.Tensor]]:
    """All batches of the dev set's log-probs, on the CPU as float32: ``(utts, (B, T, V), (B,))``."""
    return [(utts, lp.float().cpu().contiguous(), lens.cpu())
            for utts, lp, lens in datadir_log_probs(runtime, dev_dir, batch_seconds)]


def _wer(decoder: Decoder, tokenizer, cache, refs: dict[str, str]) -> tuple[float, dict[str, str]]:
    hyps: dict[str, str] = {}
    for utts, lp, lens in cache:
        hyps.update(zip(utts, decode_batch(decoder, tokenizer, lp, lens), strict=True))
    return score(refs, hyps).wer.error_rate, hyps


def tune_lm(runtime: ModelRuntime, model_dir: str | os.PathLike, dev_dir: str | os.PathLike,
            cfg: TuneConfig) -> TuneResult:
    """Grid-search α/β on ``dev_dir`` with the network of ``runtime``; write ``decode.json`` into ``model_dir``."""
    if not cfg.lm_weights or not cfg.word_scores:
        raise ValueError("the α and β grids must each have at least one value")
    t0 = time.perf_counter()
    arpa, lexicon = resolve_lm(cfg.lm, cfg.lexicon)
    refs = read_datadir(dev_dir, segments=True).text
    cache = dev_log_probs(runtime, dev_dir, cfg.batch_seconds)
    tok = runtime.tokenizer
    greedy_wer, _ = _wer(GreedyDecoder(), tok, cache, refs)
    log.info("dev greedy WER %.2f%%", 100 * greedy_wer)
    base = BeamSearchDecoder(tok, DecodeConfig(beam=cfg.beam, lm=str(arpa), lexicon=str(lexicon or ""),
                                               beam_threshold=cfg.beam_threshold))
    points = [(a, b) for a in cfg.lm_weights for b in cfg.word_scores]
    grid = []
    # Every point's decoder is built before the workers fork: they share the one loaded LM.
    with DecoderPool({f"{a},{b}": base.with_weights(a, b) for a, b in points}, cfg.nj) as pool:
        for a, b in points:
            wer, _ = _wer(PooledDecoder(pool, f"{a},{b}"), tok, cache, refs)
            grid.append({"lm_weight": a, "word_score": b, "wer": wer})
            log.info("alpha %-5g beta %-5g dev WER %.2f%%", a, b, 100 * wer)
    best = min(grid, key=lambda g: (round(g["wer"], 12), g["lm_weight"], abs(g["word_score"])))

    d = Path(model_dir)
    if cfg.copy_lm:
        name = BINARY_NAME if is_kenlm_binary(arpa) else LM_DIR_ARPA
        shutil.copyfile(arpa, d / name)
        arpa = d / name
        if lexicon is not None:
            shutil.copyfile(lexicon, d / LM_DIR_LEXICON)
            lexicon = d / LM_DIR_LEXICON
    chosen = DecodeConfig(beam=cfg.decode_beam or cfg.beam, lm=str(arpa), lexicon=str(lexicon or ""),
                          lm_weight=best["lm_weight"], word_score=best["word_score"],
                          beam_threshold=cfg.beam_threshold)
    seconds = time.perf_counter() - t0
    path = save_decode_config(d, chosen, {"tuning": {
        "dev_data": str(dev_dir), "lm_source": str(cfg.lm), "dev_wer": best["wer"], "greedy_dev_wer": greedy_wer,
        "beam": cfg.beam, "seconds": round(seconds, 1), "grid": grid}})
    return TuneResult(best["lm_weight"], best["word_score"], best["wer"], greedy_wer, grid, path, seconds)


def format_grid(result: TuneResult) -> str:
    """The dev WER grid as a table: α down, β across; the chosen cell starred."""
    alphas = sorted({g["lm_weight"] for g in result.grid})
    betas = sorted({g["word_score"] for g in result.grid})
    wer = {(g["lm_weight"], g["word_score"]): g["wer"] for g in result.grid}
    lines = ["alpha\\beta " + "".join(f"{b:>9g}" for b in betas)]
    for a in alphas:
        cells = []
        for b in betas:
            star = "*" if (a, b) == (result.lm_weight, result.word_score) else " "
            cells.append(f"{100 * wer[(a, b)]:8.2f}{star}" if (a, b) in wer else " " * 9)
        lines.append(f"{a:>10g} " + "".join(cells))
    return "\n".join(lines)
