"""``asr decode``: transcribe every utterance of a data directory in length-sorted batches."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tqdm import tqdm

from asr.data.audio import AudioError, load_audio
from asr.data.datadir import read_datadir

log = logging.getLogger(__name__)


def decode_datadir(recognizer, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                   batch_seconds: float = 240.0) -> dict[str, str]:
    """Write ``out_dir/hyp.txt`` (``<utt> <words>``) and ``out_dir/ref.txt``; return the hypotheses.

    Unreadable audio is reported and decoded as an empty hypothesis (so it is scored as errors,
    never silently left out).
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
    order = sorted(waves, key=lambda u: len(waves[u]))
    hyps: dict[str, str] = dict.fromkeys(failed, "")
    batch: list[str] = []
    bar = tqdm(total=len(order), desc=f"decode {Path(data_dir).name}", unit="utt", disable=None)

    def flush():
        for u, text in zip(batch, recognizer.transcribe_waves([waves[u] for u in batch]), strict=True):
            hyps[u] = text
        bar.update(len(batch))
        batch.clear()

    for u in order:
        if batch and len(waves[u]) * (len(batch) + 1) > batch_seconds * sr:
            flush()
        batch.append(u)
    if batch:
        flush()
    bar.close()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hyp.txt").write_text("".join(f"{u} {hyps[u]}".rstrip() + "\n" for u in sorted(hyps)))
    (out / "ref.txt").write_text("".join(f"{u} {dd.text[u]}\n" for u in dd.utt_ids))
    if failed:
        log.warning("%d utterances could not be read and count as empty hypotheses", len(failed))
    return hyps
