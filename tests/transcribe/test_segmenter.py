"""The pause segmenter on generated speech: cuts at pauses, drops silence, bounds segments, adapts to level."""

import numpy as np
import pytest

from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.transcribe.segmenter import Segmenter, VadConfig

SR = 16000


@pytest.fixture(scope="module")
def utterances(tiny_corpus) -> list[np.ndarray]:
    dd = read_datadir(tiny_corpus / "test")
    return [load_audio(dd.audio_path(u)) for u in dd.utt_ids[:4]]


def _record(parts, noise_db=-65.0, seed=0):
    """Concatenate waves and pauses (floats, seconds); return the recording and (start, end) of each wave."""
    out, spans, pos = [], [], 0
    for p in parts:
        w = np.zeros(int(p * SR), np.float32) if isinstance(p, float) else p
        if not isinstance(p, float):
            spans.append((pos / SR, (pos + len(w)) / SR))
        out.append(w)
        pos += len(w)
    x = np.concatenate(out)
    return x + np.random.default_rng(seed).normal(0, 10 ** (noise_db / 20), len(x)).astype(np.float32), spans


def _segments(x, block_s=0.37, **cfg):
    blocks = [x[i:i + int(block_s * SR)] for i in range(0, len(x), int(block_s * SR))]
    return [(s.start / SR, s.end / SR) for s in Segmenter(SR, VadConfig(**cfg)).segments(blocks)]


def test_cuts_at_long_pauses_only_and_keeps_whole_utterances(utterances):
    u = utterances
    x, spans = _record([0.7, u[0], 1.0, u[1], 0.15, u[2], 0.6, u[3], 1.2])
    segs = _segments(x)
    assert len(segs) == 3  # the 0.15 s pause is shorter than min_silence: u1 and u2 stay together
    for (s, e), (a, b) in zip(segs, [spans[0], (spans[1][0], spans[2][1]), spans[3]], strict=True):
        assert a - 0.25 <= s <= a + 0.02 and b - 0.05 <= e <= b + 0.25, (s, e, a, b)
    # The same cuts (to a frame or two) whatever the input blocks are.
    assert np.allclose(np.array(segs), np.array(_segments(x, block_s=3.0)), atol=0.021)
    # A 20 dB quieter recording of the same thing: the threshold follows the level.
    assert np.allclose(np.array(segs), np.array(_segments(x * 0.1, block_s=3.0)), atol=0.05)


def test_no_speech_no_segments():
    x, _ = _record([5.0])
    assert _segments(x) == []


def test_speech_without_pauses_is_cut_into_bounded_contiguous_segments(utterances):
    x = np.concatenate(utterances * 4)  # ~30 s, no pause longer than eSpeak's own
    segs = _segments(x, block_s=1.0, max_segment_s=4.0)
    assert all(e - s <= 4.0 + 1e-6 for s, e in segs)
    assert all(abs(segs[i][1] - segs[i + 1][0]) < 1e-6 for i in range(len(segs) - 1))  # nothing lost between
    assert segs[0][0] == 0.0 and segs[-1][1] >= len(x) / SR - 0.25
