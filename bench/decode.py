"""Real-time factors of decoding on the CPU: greedy, beam search without LM, beam search with an n-gram LM.

    python bench/decode.py MODEL_DIR DATA_DIR [--lm LM] [--beam 50] [--threads 2] [--max-utts N]

RTF = (seconds of compute) / (seconds of audio), the acoustic model's forward pass included: each
line is forward + that search. The forward pass runs once (its time is measured on that run) and
its log-probs are reused by every search, whose time is measured separately. Audio loading and
model/LM loading are not counted (they are once per process, not per utterance).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from asr.decode.config import BATCH_SECONDS, DEFAULT_BEAM, DecodeConfig, load_decode_config
from asr.decode.decode_data import datadir_log_probs, decode_batch
from asr.decode.decoder import GreedyDecoder
from asr.evaluate.scoring import score
from asr.model.runtime import ModelRuntime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("--lm", help="ARPA or `asr lm` directory (default: the model's decode.json LM, if any)")
    ap.add_argument("--lexicon", default="")
    ap.add_argument("--beam", type=int, default=DEFAULT_BEAM)
    ap.add_argument("--lm-weight", type=float, help="default: decode.json's, else 1")
    ap.add_argument("--word-score", type=float, help="default: decode.json's, else 0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-seconds", type=float, default=BATCH_SECONDS)
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    tuned = load_decode_config(args.model_dir) or DecodeConfig()
    lm = args.lm or tuned.lm
    lexicon = args.lexicon or (tuned.lexicon if not args.lm else "")
    runtime = ModelRuntime(args.model_dir, device="cpu")
    sr = runtime.feature_cfg.sample_rate

    # Warm-up: one-time kernel/thread-pool set-up is not per-audio cost.
    runtime.log_probs([np.zeros(sr, dtype=np.float32)])
    # Forward pass: timed batch by batch, audio loading excluded (datadir_log_probs loads it all first).
    batches, t_forward, gen = [], 0.0, datadir_log_probs(runtime, args.data_dir, args.batch_seconds)
    while True:
        t0 = time.perf_counter()
        try:
            utts, lp, lens = next(gen)
        except StopIteration:
            break
        t_forward += time.perf_counter() - t0
        batches.append((utts, lp, lens))
    from asr.data.datadir import read_datadir

    dd = read_datadir(args.data_dir)
    audio_s = sum(dd.utt2dur.values()) if dd.utt2dur else None
    if not audio_s:
        from asr.data.audio import load_audio

        audio_s = sum(len(load_audio(dd.audio_path(u), sr)) for u in dd.utt_ids) / sr

    decoders = [("greedy", GreedyDecoder())]
    from asr.decode.beam import BeamSearchDecoder

    decoders.append((f"beam {args.beam}, no LM", BeamSearchDecoder(runtime.tokenizer, DecodeConfig(beam=args.beam))))
    if lm:
        cfg = DecodeConfig(beam=args.beam, lm=lm, lexicon=lexicon,
                           lm_weight=args.lm_weight if args.lm_weight is not None else tuned.lm_weight,
                           word_score=args.word_score if args.word_score is not None else tuned.word_score)
        decoders.append((f"beam {args.beam} + LM (a={cfg.lm_weight:g}, b={cfg.word_score:g})",
                         BeamSearchDecoder(runtime.tokenizer, cfg)))

    print(f"{args.data_dir}: {len(dd)} utterances, {audio_s:.1f} s of audio; {args.threads} threads; "
          f"forward pass {t_forward:.2f} s (RTF {t_forward / audio_s:.4f})")
    print(f"{'decoder':42s} {'search s':>9s} {'RTF search':>11s} {'RTF total':>10s} {'WER %':>7s}")
    rows = []
    for name, dec in decoders:
        hyps = {}
        t0 = time.perf_counter()
        for utts, lp, lens in batches:
            hyps.update(zip(utts, decode_batch(dec, runtime.tokenizer, lp, lens), strict=True))
        t_search = time.perf_counter() - t0
        wer = score(dd.text, hyps).wer.error_rate
        row = {"decoder": name, "search_s": t_search, "rtf_search": t_search / audio_s,
               "rtf": (t_forward + t_search) / audio_s, "wer": wer}
        rows.append(row)
        print(f"{name:42s} {t_search:9.2f} {row['rtf_search']:11.4f} {row['rtf']:10.4f} {100 * wer:7.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"audio_s": audio_s, "forward_s": t_forward, "threads": args.threads,
                                               "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
