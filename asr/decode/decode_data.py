"""``asr decode``: transcribe every utterance of a data directory in length-sorted batches.

The acoustic model (an asr.model.runtime.ModelRuntime) runs once per batch (:func:`datadir_log_probs`);
any decoder (greedy or beam, asr.decode.decoder) turns the log-probs into words. LM tuning keeps the
log-probs and decodes them many times.
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
from asr.decode.config import BATCH_SECONDS
from asr.decode.decoder import Decoder, make_decoder
from asr.decode.parallel import DecoderPool, PooledDecoder
from asr.io import atomic_write_text
from asr.model.runtime import ModelRuntime

log = logging.getLogger(__name__)


SKIPPED_FILE = "skipped.txt"  # beside hyp.txt: `<utt> <reason>` per utterance decoded as empty


def datadir_log_probs(runtime: ModelRuntime, data_dir: str | os.PathLike, batch_seconds: float = BATCH_SECONDS,
                      skipped: dict[str, str] | None = None,
                      ) -> Iterator[tuple[list[str], torch.Tensor, torch.Tensor]]:
    """Yield ``(utt_ids, log_probs (B, T, V), lengths (B,))`` per length-sorted batch of a data dir
    (utterances cut from recordings by its ``segments`` file, if it has one).

    Audio that cannot be used (unreadable, implausible rate, too many NaN samples, shorter than one
    feature frame) is logged, recorded in ``skipped`` (utt -> reason) and yielded as utterances with
    no frames (``lengths == 0``, decoded as empty hypotheses, so scored as errors, never silently
    left out); it never stops the other utterances.
    """
    dd = read_datadir(data_dir, segments=True)
    sr = runtime.feature_cfg.sample_rate
    frame = runtime.feature_cfg.frame_samples
    waves, failed = {}, {}
    for u in dd.utt_ids:
        try:
            wave = load_audio(dd.audio_path(u), sr, *dd.span(u))
        except AudioError as e:
            failed[u] = str(e)
            continue
        if len(wave) < frame:
            failed[u] = f"{dd.audio_path(u)}: {len(wave)} samples is shorter than one {frame}-sample frame"
        else:
            waves[u] = wave
    if failed:
        for u, why in failed.items():
            log.error("utterance %s: %s", u, why)
        log.warning("%d utterances could not be decoded and count as empty hypotheses", len(failed))
        if skipped is not None:
            skipped.update(failed)
        yield list(failed), torch.zeros(len(failed), 0, 1), torch.zeros(len(failed), dtype=torch.long)
    order = sorted(waves, key=lambda u: len(waves[u]))
    bar = tqdm(total=len(order), desc=f"decode {Path(data_dir).name}", unit="utt", disable=None)
    batch: list[str] = []
    for i, u in enumerate(order):
        batch.append(u)
        last = i + 1 == len(order)
        if last or len(waves[order[i + 1]]) * (len(batch) + 1) > batch_seconds * sr:
            log_probs, lengths = runtime.log_probs([waves[b] for b in batch])
            yield list(batch), log_probs, lengths
            bar.update(len(batch))
            batch = []
    bar.close()


def decode_batch(decoder: Decoder, tokenizer, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
    """Texts of ``decoder.decode``; '' for utterances with no frames (unreadable audio)."""
    if log_probs.shape[1] == 0:
        return [""] * log_probs.shape[0]
    return [" ".join(tokenizer.decode(ids).split()) for ids in decoder.decode(log_probs, lengths)]


def write_hyps(hyps: dict[str, str], path: str | os.PathLike) -> None:
    """``<utt> <words>`` per line, sorted; an empty hypothesis is the id alone."""
    atomic_write_text(path, "".join(f"{u} {hyps[u]}".rstrip() + "\n" for u in sorted(hyps)))


def decode_datadir(runtime: ModelRuntime, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                   batch_seconds: float = BATCH_SECONDS, decoder: Decoder | None = None, nj: int = 0,
                   skipped: dict[str, str] | None = None) -> dict[str, str]:
    """Write ``out_dir/hyp.txt`` (``<utt> <words>``) and ``out_dir/ref.txt``; return the hypotheses.

    Utterances whose audio cannot be used get empty hypotheses and are listed with the reason in
    ``out_dir/skipped.txt`` (and in ``skipped``, when given).

    ``decoder`` defaults to the model's own choice: its tuned beam search (decode.json) if it has
    one, else greedy (asr.decode.decoder.make_decoder). Beam search runs in ``nj`` processes (0: one
    per CPU core; asr.decode.parallel).
    """
    decoder = decoder or make_decoder(runtime.model_dir, runtime.tokenizer)
    dd = read_datadir(data_dir, segments=True)  # malformed files fail here, before any decoding
    missing = sorted(set(dd.wav) - set(dd.text))
    if missing:
        raise ValueError(f"{Path(data_dir) / 'text'}: no transcript for {len(missing)} utterance(s) of wav.scp, "
                         f"e.g. {missing[0]!r} (`asr validate-data {data_dir}` lists every problem)")
    hyps: dict[str, str] = {}
    failed: dict[str, str] = {}
    with DecoderPool({"decoder": decoder}, nj) as pool:
        pooled = PooledDecoder(pool, "decoder")
        for utts, log_probs, lengths in datadir_log_probs(runtime, data_dir, batch_seconds, failed):
            hyps.update(zip(utts, decode_batch(pooled, runtime.tokenizer, log_probs, lengths), strict=True))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "ref.txt", "".join(f"{u} {dd.text[u]}\n" for u in dd.utt_ids))
    write_hyps(hyps, out / "hyp.txt")
    if failed:
        atomic_write_text(out / SKIPPED_FILE, "".join(f"{u} {failed[u]}\n" for u in sorted(failed)))
    else:
        (out / SKIPPED_FILE).unlink(missing_ok=True)  # a list from an earlier run would be wrong now
    if skipped is not None:
        skipped.update(failed)
    return hyps
