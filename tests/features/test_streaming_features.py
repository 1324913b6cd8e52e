"""Streaming log-mel frames equal the whole file's, for every backend and piece size."""

import numpy as np
import pytest
import torch

from asr.features.config import FeatureConfig
from asr.features.logmel import compute_logmel
from asr.features.streaming import FeatureStream


@pytest.mark.parametrize("backend", ["torchaudio", "kaldi"])
@pytest.mark.parametrize("piece", [1, 160, 333, 1600, 16000])
def test_frames_in_pieces_equal_the_whole_file(backend, piece):
    rng = np.random.default_rng(0)
    t = np.arange(23456) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    cfg = FeatureConfig(backend=backend)
    whole = compute_logmel(wave, cfg)
    stream = FeatureStream(cfg)
    frames = torch.cat([stream.accept(wave[i:i + piece]) for i in range(0, wave.size, piece)])
    assert frames.shape == whole.shape == (cfg.num_frames(wave.size), 80)
    assert torch.allclose(frames, whole, atol=1e-4)
    assert stream.buffer.size < cfg.frame_samples  # keeps only what the next frame needs


def test_per_utterance_normalization_cannot_stream():
    with pytest.raises(ValueError, match="whole utterance"):
        FeatureStream(FeatureConfig(utt_norm="mean"))
