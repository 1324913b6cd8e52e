"""Streaming recognition of real (generated) speech: same text as offline, in pieces of any size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asr.data.audio import read_audio
from asr.data.datadir import read_datadir
from asr.decode.greedy import greedy_decode
from asr.model.runtime import ModelRuntime
from asr.stream.recognizer import StreamingRecognizer


def _offline_greedy(model_dir, wave) -> str:
    rt = ModelRuntime(model_dir, "cpu")
    lp, lens = rt.log_probs([wave])
    return rt.tokenizer.decode(greedy_decode(lp, lens)[0]).strip()


def _waves(stream_run):
    dd = read_datadir(stream_run["data"])
    out = []
    for u in dd.utt_ids:
        wave, rate = read_audio(dd.audio_path(u))
        assert rate == 16000
        out.append((u, wave))
    return out


def test_the_fixture_model_streams_and_has_learned(stream_run):
    assert stream_run["result"]["best_dev_wer"] < 0.3


@pytest.mark.parametrize("piece_ms", [10, 37, 100, 1000])
def test_streaming_equals_offline_greedy_for_any_piece_size(stream_run, piece_ms):
    rec = StreamingRecognizer(stream_run["model_dir"], decoder="greedy")
    for utt, wave in _waves(stream_run)[:2]:
        offline = _offline_greedy(stream_run["model_dir"], wave)
        assert offline, utt
        n = int(16000 * piece_ms / 1000)
        events = list(rec.stream(wave[i:i + n] for i in range(0, len(wave), n)))
        finals = [e for e in events if e.kind == "final"]
        assert " ".join(e.text for e in finals) == offline
        partials = [e for e in events if e.kind == "partial"]
        assert partials, "no partial result before the end"
        for p in partials:  # what is shown as stable is never taken back
            assert offline.startswith(p.stable)
        assert all(a.audio_time <= b.audio_time for a, b in zip(events, events[1:], strict=False))
        words = [w for e in finals for w in e.words]
        assert " ".join(w.word for w in words) == offline
        assert all(0 <= w.start < w.end <= len(wave) / 16000 + 0.1 for w in words)


def test_words_are_final_well_before_the_end_of_the_audio(stream_run):
    rec = StreamingRecognizer(stream_run["model_dir"], decoder="greedy")
    utt, wave = _waves(stream_run)[0]
    duration = len(wave) / 16000
    s = rec.open()
    first_stable = None
    for i in range(0, len(wave), 1600):
        for e in s.feed(wave[i:i + 1600]):
            if e.kind == "partial" and e.stable and first_stable is None:
                first_stable = e.audio_time
    s.close()
    assert first_stable is not None and first_stable < duration - 0.5, (utt, first_stable, duration)


def test_an_offline_model_is_refused_with_a_reason(overfit_run):
    with pytest.raises(ValueError, match="not a streaming model"):
        StreamingRecognizer(overfit_run["model_dir"])


def test_silence_streams_as_offline_and_gives_no_empty_segments(stream_run):
    rec = StreamingRecognizer(stream_run["model_dir"], decoder="greedy")
    silence = np.random.default_rng(0).normal(0, 1e-4, 32000).astype(np.float32)
    finals = [e for e in rec.stream(silence[i:i + 1600] for i in range(0, 32000, 1600)) if e.kind == "final"]
    assert all(e.text for e in finals)
    assert " ".join(e.text for e in finals) == _offline_greedy(stream_run["model_dir"], silence)


def test_streams_are_independent(stream_run):
    rec = StreamingRecognizer(stream_run["model_dir"], decoder="greedy")
    (u1, w1), (u2, w2) = _waves(stream_run)[:2]
    a, b = rec.open(), rec.open()
    ev_a, ev_b = [], []
    for i in range(0, max(len(w1), len(w2)), 800):  # interleaved
        ev_a += a.feed(w1[i:i + 800]) if i < len(w1) else []
        ev_b += b.feed(w2[i:i + 800]) if i < len(w2) else []
    ev_a += a.close()
    ev_b += b.close()
    text = lambda evs: " ".join(e.text for e in evs if e.kind == "final")  # noqa: E731
    assert text(ev_a) == _offline_greedy(stream_run["model_dir"], w1)
    assert text(ev_b) == _offline_greedy(stream_run["model_dir"], w2)
    assert torch.get_num_threads() >= 1
