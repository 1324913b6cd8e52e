"""Greedy WER/CER of a model on a data dir under three test-time changes that might narrow a domain gap.

    python bench/test_time_study.py MODEL_DIR DATA_DIR [--genders manifest.tsv] [--warps 0.9,1,1.1] [--studies tta]

* ``segments``: each utterance cut at pauses by the transcriber's VAD (asr.transcribe.segmenter) and
  decoded piece by piece, at several pause lengths, against the whole utterance. Tells whether
  utterances far longer than the training ones (real read speech ~12 s, the synthetic corpus ~2 s)
  are a problem for the BiLSTM.
* ``warp``: the log-mel frequency axis stretched by a fixed factor (asr.train.freq_warp.warp_mel_axis, at
  test time), per factor and per gender (a ``manifest.tsv`` with ``speaker`` and ``gender`` columns, as in
  ``../shared/realdev``), and each utterance's factor picked by the model's confidence (mean max
  log-prob per output step), a test-time VTLN.
* ``blank``: a penalty (nats) subtracted from the blank's log-prob before greedy search, trading
  deletions for insertions and substitutions.
* ``tta``: test-time adaptation in the manner of SUTA (Lin et al., 2022): for each utterance alone, a
  copy of the model takes ``--tta-steps`` Adam steps (``--tta-lr``) on the mean entropy of its own
  output distributions, then decodes; greedy, and with the model's tuned LM setup (decode.json) at
  ``--tta-beam``, against the unadapted model. One utterance per speaker makes it speaker adaptation.
"""

from __future__ import annotations

import argparse
import copy
import csv
import time
from collections import Counter

import torch

from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.decode.decode_data import datadir_log_probs, decode_batch
from asr.decode.decoder import GreedyDecoder, make_decoder
from asr.evaluate.scoring import score
from asr.model.runtime import ModelRuntime
from asr.train.freq_warp import warp_mel_axis
from asr.transcribe.recognizer import Recognizer
from asr.transcribe.segmenter import VadConfig

PAUSES = (0.2, 0.3, 0.5)  # seconds of pause that end a segment
BLANK_PENALTIES = (0.0, 0.5, 1.0, 2.0)


def wer_cer(refs: dict[str, str], hyps: dict[str, str]) -> str:
    s = score(refs, hyps)
    return f"WER {100 * s.wer.error_rate:6.2f}  CER {100 * s.cer.error_rate:6.2f}"


def segments_study(model_dir: str, dd) -> None:
    whole = VadConfig(min_silence_s=100.0, max_segment_s=1000.0)  # no cut: utterances are far shorter
    for name, vad in [("whole utterance", whole)] + [(f"cut at {p:g} s pauses", VadConfig(min_silence_s=p))
                                                      for p in PAUSES]:
        rec = Recognizer(model_dir, "cpu", decoder="greedy", vad=vad)
        hyps = {u: " ".join(rec.transcribe(str(dd.audio_path(u))).split()) for u in dd.utt_ids}
        print(f"segments  {name:<22} {wer_cer(dd.text, hyps)}", flush=True)


@torch.inference_mode()
def warp_study(rt: ModelRuntime, dd, warps: list[float], gender: dict[str, str]) -> None:
    sr = rt.feature_cfg.sample_rate
    waves = {u: load_audio(dd.audio_path(u), sr) for u in dd.utt_ids}
    order = sorted(waves, key=lambda u: len(waves[u]))
    hyps: dict[float, dict[str, str]] = {}
    conf: dict[float, dict[str, float]] = {}
    for a in warps:
        hyps[a], conf[a] = {}, {}
        for i in range(0, len(order), 16):
            batch = order[i:i + 16]
            feats, feat_lens = rt.features([waves[u] for u in batch])
            lp, out_lens = rt.model(warp_mel_axis(feats, torch.full((len(batch),), a)), feat_lens)
            for j, (u, text) in enumerate(zip(batch, decode_batch(GreedyDecoder(), rt.tokenizer, lp, out_lens),
                                              strict=True)):
                hyps[a][u] = text
                conf[a][u] = float(lp[j, :out_lens[j]].max(-1).values.mean())
        by_gender = ""
        for g in sorted(set(gender.values())):
            us = [u for u in dd.utt_ids if gender.get(dd.utt2spk[u]) == g]
            if us:
                s = score({u: dd.text[u] for u in us}, {u: hyps[a][u] for u in us})
                by_gender += f"  {g} WER {100 * s.wer.error_rate:6.2f}"
        print(f"warp      {a:<22g} {wer_cer(dd.text, hyps[a])}{by_gender}", flush=True)
    pick = {u: max(warps, key=lambda a: conf[a][u]) for u in dd.utt_ids}
    print(f"warp      {'picked by confidence':<22} {wer_cer(dd.text, {u: hyps[pick[u]][u] for u in dd.utt_ids})}"
          f"  picks {dict(sorted(Counter(pick.values()).items()))}", flush=True)


def blank_study(rt: ModelRuntime, dd, data_dir: str) -> None:
    cache = [(utts, lp.float().cpu(), lens) for utts, lp, lens in datadir_log_probs(rt, data_dir)]
    for pen in BLANK_PENALTIES:
        hyps = {}
        for utts, lp, lens in cache:
            lp = lp.clone()
            lp[..., rt.tokenizer.blank_id] -= pen
            hyps.update(zip(utts, decode_batch(GreedyDecoder(), rt.tokenizer, lp, lens), strict=True))
        print(f"blank     penalty {pen:<14g} {wer_cer(dd.text, hyps)}", flush=True)


def tta_study(rt: ModelRuntime, dd, steps: int, lr: float, beam: int) -> None:
    model = rt.model.float().eval()
    base = copy.deepcopy(model.state_dict())
    sr = rt.feature_cfg.sample_rate
    decoders = {"greedy": GreedyDecoder()}
    if (rt.model_dir / "decode.json").is_file():
        decoders[f"LM beam {beam}"] = make_decoder(rt.model_dir, rt.tokenizer, beam=beam)
    hyps: dict[tuple[str, str], dict[str, str]] = {}
    start = time.time()
    for u in dd.utt_ids:
        feats, feat_lens = rt.features([load_audio(dd.audio_path(u), sr)])
        model.load_state_dict(base)
        for adapted in (False, True):
            if adapted:
                opt = torch.optim.Adam(model.parameters(), lr=lr)
                for _ in range(steps):
                    lp, _ = model(feats, feat_lens)
                    entropy = -(lp.exp() * lp).sum(-1).mean()
                    opt.zero_grad()
                    entropy.backward()
                    opt.step()
            with torch.no_grad():
                lp, out_lens = model(feats, feat_lens)
            for name, decoder in decoders.items():
                hyps.setdefault((name, "adapted" if adapted else "as trained"), {})[u] = decode_batch(
                    decoder, rt.tokenizer, lp, out_lens)[0]
    model.load_state_dict(base)
    for (name, which), h in hyps.items():
        print(f"tta       {which + ', ' + name:<22} {wer_cer(dd.text, h)}", flush=True)
    print(f"tta       {steps} steps at lr {lr:g}: {time.time() - start:.0f} s for {len(dd.utt_ids)} utterances")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("--genders", help="manifest.tsv with speaker and gender columns (per-gender WER of each warp)")
    ap.add_argument("--warps", default="0.85,0.9,0.95,1.0,1.05,1.1,1.15")
    ap.add_argument("--studies", default="segments,warp,blank", help="any of segments,warp,blank,tta")
    ap.add_argument("--tta-steps", type=int, default=10)
    ap.add_argument("--tta-lr", type=float, default=1e-4)
    ap.add_argument("--tta-beam", type=int, default=50)
    args = ap.parse_args()
    dd = read_datadir(args.data_dir)
    gender: dict[str, str] = {}
    if args.genders:
        with open(args.genders, encoding="utf-8") as f:
            # Speaker ids as `asr import folder` writes them ("libri-1034" -> "libri_1034").
            known = set(dd.utt2spk.values())
            for row in csv.DictReader(f, delimiter="\t"):
                spk = row["speaker"] if row["speaker"] in known else row["speaker"].replace("-", "_")
                gender[spk] = row["gender"]
    rt = ModelRuntime(args.model_dir, "cpu")
    studies = args.studies.split(",")
    if "segments" in studies:
        segments_study(args.model_dir, dd)
    if "warp" in studies:
        warp_study(rt, dd, [float(w) for w in args.warps.split(",")], gender)
    if "blank" in studies:
        blank_study(rt, dd, args.data_dir)
    if "tta" in studies:
        tta_study(rt, dd, args.tta_steps, args.tta_lr, args.tta_beam)


if __name__ == "__main__":
    main()
