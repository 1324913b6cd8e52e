"""``asr decode``: transcribe every utterance of a data directory in length-sorted batches.

The acoustic model runs once per batch (:func:`datadir_log_probs`); any decoder (greedy or beam,
asr.decode.decoder) turns the log-probs into words. LM tuning keeps the log-probs and decodes them
many times.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from tqdm import tqdm

from asr.data.audio import AudioError, load_audio
from asr.data.datadir import read_datadir

log = logging.getLogger(__name__)


def datadir_log_probs(recognizer, data_dir: str | os.PathLike, batch_seconds: float = 240.0,
                      ) -> Iterator[tuple[list[str], torch.Tensor, torch.Tensor]]:
    """Yield ``(utt_ids, log_probs (B, T, V), lengths (B,))`` per length-sorted batch of a data dir.

    Unreadable audio is logged and yielded as utterances with no frames (``lengths == 0``,
    decoded as empty hypotheses, so scored as errors, never silently left out).
    """
    dd = read_datadir(data_dir)
    sr = recognizer.feature_cfg.sample_rate
    waves, failed = {}, []
    for u in dd.utt_ids:
        try:
            waves[u] = load_audio(dd.audio_path(u), sr)
        except AudioError as e:
            log.error("utterance %s: %s", u, e)
            failed.append(u)
    if failed:
        log.warning("%d utterances could not be read and count as empty hypotheses", len(failed))
        yield failed, torch.zeros(len(failed), 0, 1), torch.zeros(len(failed), dtype=torch.long)
    order = sorted(waves, key=lambda u: len(waves[u]))
    bar = tqdm(total=len(order), desc=f"decode {Path(data_dir).name}", unit="utt", disable=None)
    batch: list[str] = []
    for i, u in enumerate(order):
        batch.append(u)
        last = i + 1 == len(order)
        if last or len(waves[order[i + 1]]) * (len(batch) + 1) > batch_seconds * sr:
            log_probs, lengths = recognizer.log_probs([waves[b] for b in batch])
            yield list(batch), log_probs, lengths
            bar.update(len(batch))
            batch = []
    bar.close()


def decode_batch(decoder, tokenizer, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
    """Texts of ``decoder.decode``; '' for utterances with no frames (unreadable audio)."""
    if log_probs.shape[1] == 0:
        return [""] * log_probs.shape[0]
    return [" ".join(tokenizer.decode(ids).split()) for ids in decoder.decode(log_probs, lengths)]


def write_hyps(hyps: dict[str, str], path: str | os.PathLike) -> None:
    """``<utt> <words>`` per line, sorted; an empty hypothesis is the id alone."""
    Path(path).write_text("".join(f"{u} {hyps[u]}".rstrip() + "\n" for u in sorted(hyps)), encoding="utf-8")


def decode_datadir(recognizer, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                   batch_seconds: float = 240.0, decoder=None) -> dict[str, str]:
    """Write ``out_dir/hyp.txt`` (``<utt> <words>``) and ``out_dir/ref.txt``; return the hypotheses.

    ``decoder`` defaults to the recognizer's (greedy, or the model's tuned beam search).
    """
    decoder = decoder or recognizer.decoder
    hyps: dict[str, str] = {}
    for utts, log_probs, lengths in datadir_log_probs(recognizer, data_dir, batch_seconds):
        hyps.update(zip(utts, decode_batch(decoder, recognizer.tokenizer, log_probs, lengths), strict=True))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_hyps(hyps, out / "hyp.txt")
    dd = read_datadir(data_dir)
    (out / "ref.txt").write_text("".join(f"{u} {dd.text[u]}\n" for u in dd.utt_ids), encoding="utf-8")
    return hyps
