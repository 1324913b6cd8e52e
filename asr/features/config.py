"""``FeatureConfig``: how waveforms become frames, for every backend. Saved with every store and model."""

from __future__ import annotations

from dataclasses import dataclass

from asr.config import option
from asr.data.rates import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

BACKENDS = ("torchaudio", "librosa", "kaldi")
UTT_NORMS = ("none", "mean", "meanvar")



@dataclass
class FeatureConfig:
    """One configuration names every feature backend.

    backend
        ``torchaudio`` (default): log of a power mel spectrogram (HTK mel scale, unnormalized
        triangles, Hann window of ``win_ms`` zero-padded to ``n_fft``, frames fully inside the signal).
        ``librosa``: the same definition computed by librosa; matches ``torchaudio`` to within
        2e-3 (max abs, natural-log units) and 1e-4 (mean abs) -- a cross-check, tested.
        ``kaldi``: ``torchaudio.compliance.kaldi.fbank`` (povey window, pre-emphasis 0.97, DC removal,
        Kaldi's mel triangles, FFT size = window rounded up to a power of two, ``n_fft`` unused,
        no dither so that features are reproducible). Samples are scaled to the 16-bit integer
        range first, as Kaldi reads wav files, so the numbers match ``compute-fbank-feats``.
    utt_norm
        Per-utterance normalization applied by the extractor itself (so stored, on-the-fly and
        transcription features agree): ``none``, ``mean`` (subtract the utterance mean) or
        ``meanvar`` (also divide by its standard deviation). The model's global CMVN comes after.

    Old stores and model directories have no ``backend``/``utt_norm``: the defaults are what they used.
    """

    sample_rate: int = option(16000, help="sample rate the audio is resampled to, Hz")
    n_mels: int = option(80, help="mel bands")
    win_ms: float = option(25.0, help="analysis window, ms")
    hop_ms: float = option(10.0, help="frame shift, ms")
    n_fft: int = option(512, help="FFT size (the window is zero-padded to it; unused by kaldi)")
    f_min: float = option(20.0, help="lowest mel band edge, Hz")
    f_max: float = option(7600.0, help="highest mel band edge, Hz")
    backend: str = option("torchaudio", choices=BACKENDS,
                          help="feature computation (kaldi: torchaudio.compliance.kaldi.fbank)")
    utt_norm: str = option("none", choices=UTT_NORMS, help="per-utterance normalization")

    def __post_init__(self):
        # Checked here, so a bad value fails before extraction (which would write an unusable store),
        # and a model directory or store holding one is refused when read.
        problems = []
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            problems.append(f"sample_rate={self.sample_rate} Hz is not in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}]")
        if self.n_mels <= 0:
            problems.append(f"n_mels={self.n_mels} must be > 0")
        if not (self.win_ms > 0 and self.hop_ms > 0) or self.win_length < 1 or self.hop_length < 1:
            problems.append(f"win_ms={self.win_ms} and hop_ms={self.hop_ms} must each span at least one sample")
        if self.n_fft <= 0:
            problems.append(f"n_fft={self.n_fft} must be > 0")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            problems.append(f"f_min={self.f_min:g} and f_max={self.f_max:g} must satisfy 0 <= f_min < f_max <= "
                            f"sample_rate/2 = {self.sample_rate / 2:g} Hz")
        if problems:
            raise ValueError("feature configuration: " + "; ".join(problems))
        if self.backend not in BACKENDS:
            raise ValueError(f"feature backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.utt_norm not in UTT_NORMS:
            raise ValueError(f"utt_norm must be one of {UTT_NORMS}, got {self.utt_norm!r}")
        if self.backend != "kaldi" and self.win_length > self.n_fft:
            raise ValueError(f"window of {self.win_length} samples is longer than n_fft={self.n_fft}")

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    @property
    def frame_samples(self) -> int:
        """Samples one frame spans: ``n_fft`` for torchaudio/librosa, the window for Kaldi (snip_edges)."""
        return self.win_length if self.backend == "kaldi" else self.n_fft

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` samples; 0 if shorter than one frame.

        Every backend keeps only frames that lie fully inside the signal (center=False / snip_edges).
        """
        if num_samples < self.frame_samples:
            return 0
        return 1 + (num_samples - self.frame_samples) // self.hop_length
