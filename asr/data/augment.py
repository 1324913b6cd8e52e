"""``asr augment``: augmented copies of a training data directory, every effect drawn and recorded per utterance.

Each copy of an utterance is either left clean (probability ``clean_prob``) or passed through the
effects below, each of which fires with its own probability and draws its parameters from its own
range. They are applied in this order (the order sound takes from a talker to a recording):

=============  ============================================================================================
``speed``      sox-style speed change (tempo and pitch together), factor drawn from 0.9/1.0/1.1; changes
               the duration by ``1 / f`` (the same effect as ``asr speed-perturb``)
``pitch``      pitch shift in semitones, duration kept (librosa: phase-vocoder time stretch + resampling)
``reverb``     convolution with a room impulse response simulated here: direct path, a few early
               reflections and an exponentially decaying, low-passed noise tail of the drawn RT60 and
               direct-to-reverberant ratio; the reverberant tail is kept, so the copy is longer by the RT60
``babble``     3-7 other utterances of the same data dir (each at equal level, from a random offset, looped)
               added at the drawn SNR
``noise``      white, pink (1/f) or brown (1/f^2) noise generated here, added at the drawn SNR
``telephone``  8 kHz round trip, 300-3400 Hz band-pass, then a codec: mu-law companding (8 bit, G.711,
               in numpy) or G.722 (through ``ffmpeg``, only where it is on PATH; otherwise the codec is
               skipped and the record says why); duration kept
``mic``        microphone and channel colouring: a high-pass (low cut) and a low-pass (high cut, as many
               MP3-sourced recordings of audiobooks have) at drawn corner frequencies, a spectral tilt and
               a few peaking filters of drawn centre, gain and width; duration kept
``codec``      MP3 encode (LAME through ``lameenc``, constant bit rate, its fast mode) and decode
               (libsndfile's mpg123) at a drawn compression level (0: 64 kbit/s ... 0.9: 24 kbit/s);
               duration and timing kept
``gain``       constant gain in dB
``loudness``   slow gain envelope (smooth random curve through points ``period_s`` apart, ``depth_db`` peak
               to peak), like a talker moving or an automatic gain control
=============  ============================================================================================

SNRs are signal power over noise power, both over the whole utterance (as Kaldi's MUSAN recipe does)
and measured when the noise is added, i.e. against the possibly reverberant speech. A copy whose peak
exceeds full scale is scaled down to a 0.99 peak (never clipped) and the record says by how much.

Every copy gets a JSON record of what was applied, e.g.
``{"speed": 1.1, "noise": {"type": "pink", "snr_db": 12.3}, "reverb": {"rt60": 0.4, ...}}``, or
``{"clean": true}``. The draws come from a generator seeded by (``--seed``, copy, utterance id), so a copy
does not depend on ``--nj`` or on which other utterances are in the data dir, and each effect draws
from its own sub-generator, so switching one effect off leaves the draws of the others unchanged.

Output, in ``DST_DIR``: a data dir (``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``utt2dur``) listing the
copies as ``aug<k>-<utt>`` spoken by ``aug<k>-<spk>`` (the prefix on both keeps Kaldi's sort order) and,
with ``--keep-original``, the originals; ``utt2aug`` (``<utt> <json record>`` per line); ``augment.yaml``
(the resolved configuration) and ``augment_summary.json`` (how many copies got each effect, the
utterances skipped and why). The audio is 16-bit FLAC under ``<audio_dir>/aug<k>/<spk>/``, each file
written atomically with its record and a key of the configuration and seed in its comment tag: a rerun
reuses the files whose key matches (resume) and remakes the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm import tqdm

from asr.config import ConfigError, save_config
from asr.data.audio import SAMPLE_RATE, AudioError, load_audio, resample
from asr.data.datadir import DataDir, read_datadir, validate_datadir, write_datadir
from asr.data.perturb import speed_perturb
from asr.io import atomic_path, atomic_write_text

log = logging.getLogger(__name__)

# Effects are applied in this order; a new one goes at the end (each draws from its own sub-generator,
# whose seed is the effect's position in this tuple: appending keeps the draws of the others unchanged).
EFFECTS = ("speed", "pitch", "reverb", "babble", "noise", "telephone", "gain", "loudness", "mic", "codec")
NOISE_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectral density ~ 1 / f**exponent
CODECS = ("none", "mulaw", "g722")
PEAK = 0.99  # peak a copy is scaled down to when an effect pushed it past full scale
MIN_SAMPLES = 160  # 10 ms at 16 kHz: shorter input is not speech and breaks the filters
TELEPHONE_RATE = 8000
MAX_MP3_COMPRESSION = 0.9
MP3_KBPS = (64, 24)  # bit rates of compression 0 and MAX_MP3_COMPRESSION (MPEG-2 Layer III allows multiples of 8)
MP3_QUALITY = 7  # LAME's algorithm (0 best ... 9 fastest): 7 is ~5x faster than libsndfile's MP3 writer
MP3_DELAY = 576 + 529  # samples: LAME's encoder delay plus the decoder's, at every sample rate
FORMAT_VERSION = 2  # part of each file's key: bump when the same config would now give different audio


class AugmentError(ValueError):
    """A waveform cannot be augmented (empty, silent, non-finite); the message says why."""


# ----------------------------------------------------------------------------------------------- config


@dataclass
class SpeedConfig:
    prob: float = 1.0
    factors: list[float] = field(default_factory=lambda: [0.9, 1.0, 1.1])  # one drawn uniformly; 1.0 = unchanged


@dataclass
class PitchConfig:
    prob: float = 0.2
    semitones: list[float] = field(default_factory=lambda: [-2.0, 2.0])  # uniform range


@dataclass
class ReverbConfig:
    prob: float = 0.3
    rt60: list[float] = field(default_factory=lambda: [0.2, 0.8])  # seconds to decay by 60 dB
    drr_db: list[float] = field(default_factory=lambda: [0.0, 10.0])  # direct-to-reverberant energy ratio


@dataclass
class BabbleConfig:
    prob: float = 0.15
    speakers: list[int] = field(default_factory=lambda: [3, 7])  # utterances summed, inclusive range
    snr_db: list[float] = field(default_factory=lambda: [13.0, 20.0])  # Kaldi's MUSAN babble range
    pool_size: int = 50  # utterances of the data dir held in memory to draw babble from


@dataclass
class NoiseConfig:
    prob: float = 0.3
    types: list[str] = field(default_factory=lambda: ["white", "pink", "brown"])
    snr_db: list[float] = field(default_factory=lambda: [5.0, 20.0])


@dataclass
class TelephoneConfig:
    prob: float = 0.1
    band_hz: list[float] = field(default_factory=lambda: [300.0, 3400.0])
    codecs: list[str] = field(default_factory=lambda: ["mulaw", "g722"])  # one drawn; "none": band-limit only


@dataclass
class GainConfig:
    prob: float = 0.3
    db: list[float] = field(default_factory=lambda: [-6.0, 6.0])


@dataclass
class LoudnessConfig:
    prob: float = 0.2
    depth_db: list[float] = field(default_factory=lambda: [3.0, 10.0])  # peak-to-peak swing of the envelope
    period_s: list[float] = field(default_factory=lambda: [0.5, 2.0])  # spacing of the envelope's turning points


@dataclass
class MicConfig:
    prob: float = 0.0
    low_cut_hz: list[float] = field(default_factory=lambda: [40.0, 250.0])  # 2nd-order high-pass corner
    high_cut_prob: float = 0.5  # of the copies that get ``mic``, those also low-passed
    high_cut_hz: list[float] = field(default_factory=lambda: [3500.0, 7500.0])  # 6th-order low-pass corner
    tilt_db: list[float] = field(default_factory=lambda: [-6.0, 6.0])  # gain at 8 kHz relative to 1 kHz
    peaks: list[int] = field(default_factory=lambda: [0, 3])  # peaking filters, inclusive range
    peak_db: list[float] = field(default_factory=lambda: [-8.0, 8.0])


@dataclass
class CodecConfig:
    prob: float = 0.0
    compression: list[float] = field(default_factory=lambda: [0.0, 0.9])  # 0: 64 kbit/s ... 0.9: 24 kbit/s


@dataclass
class AugmentConfig:
    """What ``asr augment`` does to each copy (module docstring). Ranges are ``[low, high]``, drawn uniformly."""

    clean_prob: float = 0.2
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    pitch: PitchConfig = field(default_factory=PitchConfig)
    reverb: ReverbConfig = field(default_factory=ReverbConfig)
    babble: BabbleConfig = field(default_factory=BabbleConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    telephone: TelephoneConfig = field(default_factory=TelephoneConfig)
    gain: GainConfig = field(default_factory=GainConfig)
    loudness: LoudnessConfig = field(default_factory=LoudnessConfig)
    mic: MicConfig = field(default_factory=MicConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)

    def check(self) -> None:
        """Raise ConfigError naming the first bad field."""
        probs = {"clean_prob": self.clean_prob} | {f"{e}.prob": getattr(self, e).prob for e in EFFECTS}
        for name, p in probs.items():
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {p}")
        ranges = {"pitch.semitones": self.pitch.semitones, "reverb.rt60": self.reverb.rt60,
                  "reverb.drr_db": self.reverb.drr_db, "babble.speakers": self.babble.speakers,
                  "babble.snr_db": self.babble.snr_db, "noise.snr_db": self.noise.snr_db,
                  "telephone.band_hz": self.telephone.band_hz, "gain.db": self.gain.db,
                  "loudness.depth_db": self.loudness.depth_db, "loudness.period_s": self.loudness.period_s,
                  "mic.low_cut_hz": self.mic.low_cut_hz, "mic.high_cut_hz": self.mic.high_cut_hz,
                  "mic.tilt_db": self.mic.tilt_db, "mic.peaks": self.mic.peaks, "mic.peak_db": self.mic.peak_db,
                  "codec.compression": self.codec.compression}
        for name, r in ranges.items():
            if not (isinstance(r, list | tuple) and len(r) == 2 and all(_is_number(v) for v in r) and r[0] <= r[1]):
                raise ConfigError(f"{name} must be [low, high] with low <= high, got {r!r}")
        positive = {"reverb.rt60": self.reverb.rt60, "loudness.period_s": self.loudness.period_s,
                    "babble.speakers": self.babble.speakers}
        for name, r in positive.items():
            if r[0] <= 0:
                raise ConfigError(f"{name} must be positive, got {r!r}")
        if not self.speed.factors or not all(_is_number(f) and f > 0 for f in self.speed.factors):
            raise ConfigError(f"speed.factors must be positive numbers, got {self.speed.factors!r}")
        if not 0.0 <= self.mic.high_cut_prob <= 1.0:
            raise ConfigError(f"mic.high_cut_prob must be in [0, 1], got {self.mic.high_cut_prob}")
        if not (0 < self.mic.low_cut_hz[0] and self.mic.high_cut_hz[1] < SAMPLE_RATE / 2):
            raise ConfigError(f"mic corner frequencies must lie inside (0, {SAMPLE_RATE // 2}) Hz")
        if not (all(isinstance(n, int) for n in self.mic.peaks) and self.mic.peaks[0] >= 0):
            raise ConfigError(f"mic.peaks must be non-negative integers, got {self.mic.peaks!r}")
        if not (0.0 <= self.codec.compression[0] and self.codec.compression[1] <= MAX_MP3_COMPRESSION):
            raise ConfigError(f"codec.compression must lie in [0, {MAX_MP3_COMPRESSION}], "
                              f"got {self.codec.compression!r}")
        if not all(isinstance(s, int) for s in self.babble.speakers):
            raise ConfigError(f"babble.speakers must be integers, got {self.babble.speakers!r}")
        if self.babble.pool_size < self.babble.speakers[0]:
            raise ConfigError(f"babble.pool_size ({self.babble.pool_size}) is below babble.speakers' minimum")
        if not self.noise.types or set(self.noise.types) - set(NOISE_EXPONENTS):
            raise ConfigError(f"noise.types must be a non-empty subset of {list(NOISE_EXPONENTS)}, "
                              f"got {self.noise.types!r}")
        if not self.telephone.codecs or set(self.telephone.codecs) - set(CODECS):
            raise ConfigError(f"telephone.codecs must be a non-empty subset of {list(CODECS)}, "
                              f"got {self.telephone.codecs!r}")
        lo, hi = self.telephone.band_hz
        if not 0 < lo < hi < TELEPHONE_RATE / 2:
            raise ConfigError(f"telephone.band_hz must lie inside (0, {TELEPHONE_RATE // 2}) Hz, got {[lo, hi]}")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)


# ----------------------------------------------------------------------------------------------- signal


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def _uniform(rng: np.random.Generator, bounds: list[float], digits: int = 2) -> float:
    """A draw rounded to what the record shows, so the record states exactly what was applied."""
    return round(float(rng.uniform(bounds[0], bounds[1])), digits)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


def _scale_to_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` scaled so that power(signal) / power(noise) is ``snr_db``."""
    return noise * np.sqrt(_power(signal) / (_power(noise) * 10.0 ** (snr_db / 10.0)))


def colored_noise(n: int, color: str, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(n,)`` Gaussian noise whose power spectral density falls as ``1 / f**k`` (white 0, pink 1, brown 2).

    Nothing below 20 Hz: a 1/f^2 spectrum puts most of its power in inaudible drift, and an SNR spent
    there would leave the speech band nearly clean.
    """
    from scipy.fft import next_fast_len

    # Shaped at a length with small prime factors, then cut: an FFT of a length with a large prime
    # factor (most utterance lengths) is ~20x slower, and noise was the costliest effect after the codec.
    m = next_fast_len(n, real=True)
    white = rng.standard_normal(m)
    spec = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(m, 1.0 / sample_rate)
    audible = freqs >= 20.0
    spec[~audible] = 0.0
    spec[audible] /= freqs[audible] ** (NOISE_EXPONENTS[color] / 2.0)
    return np.fft.irfft(spec, m)[:n]


def simulate_rir(sample_rate: int, rng: np.random.Generator, rt60: float, drr_db: float,
                 reflections: int = 4) -> np.ndarray:
    """A room impulse response ``(round(rt60 * sample_rate),)``: its energy decays by 60 dB over ``rt60`` s.

    A unit direct path at t=0 (so the speech is not delayed), ``reflections`` early reflections 1-30 ms
    later, and a diffuse tail of low-passed Gaussian noise under an exponential envelope; everything
    after the direct path is scaled to ``drr_db`` below it.
    """
    from scipy.signal import lfilter

    n = max(int(round(rt60 * sample_rate)), 2)
    t = np.arange(n) / sample_rate
    envelope = 10.0 ** (-3.0 * t / rt60)  # amplitude; energy falls 60 dB at t = rt60
    delays = np.minimum(rng.integers(int(0.001 * sample_rate), int(0.030 * sample_rate) + 1, size=reflections), n - 1)
    # Walls absorb high frequencies more than low ones: the diffuse tail is darker than white noise.
    cutoff = rng.uniform(2000.0, 6000.0)
    a = np.exp(-2.0 * np.pi * cutoff / sample_rate)
    tail = lfilter([1.0 - a], [1.0, -a], rng.standard_normal(n)) * envelope
    tail[: int(delays.min())] = 0.0  # the diffuse field builds up after the first reflection
    late = tail / np.sqrt(np.sum(tail**2) + 1e-12)
    early = np.zeros(n)
    np.add.at(early, delays, rng.uniform(0.3, 0.8, size=reflections) * rng.choice([-1.0, 1.0], size=reflections)
              * envelope[delays])
    rest = early + late * np.sqrt(np.sum(early**2))  # early and late parts of similar energy
    rest *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(rest**2))
    rest[0] += 1.0
    return rest


def mulaw_round_trip(x: np.ndarray, mu: int = 255) -> np.ndarray:
    """8-bit mu-law companding (G.711) of ``x`` in [-1, 1]: quantization noise that follows the level."""
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    q = np.round((y + 1.0) / 2.0 * mu) / mu * 2.0 - 1.0
    return np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu


def g722_round_trip(x: np.ndarray, sample_rate: int, ffmpeg: str) -> np.ndarray:
    """G.722 (wideband ADPCM, 64 kbit/s) encode and decode through ``ffmpeg``; same length as ``x``."""
    x16 = resample(x.astype(np.float32), sample_rate, 16000)
    pcm = (np.clip(x16, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    quiet = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    encoded = subprocess.run(quiet + ["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0",
                                      "-c:a", "g722", "-f", "g722", "pipe:1"],
                             input=pcm, capture_output=True, check=True).stdout
    decoded = subprocess.run(quiet + ["-f", "g722", "-i", "pipe:0", "-f", "s16le", "-ar", "16000", "-ac", "1",
                                      "pipe:1"], input=encoded, capture_output=True, check=True).stdout
    y = np.frombuffer(decoded, dtype="<i2").astype(np.float32) / 32768.0
    return _fit_length(resample(_fit_length(y, len(x16)), 16000, sample_rate), len(x))


# ----------------------------------------------------------------------------------------------- effects
# Each takes (wave, sample_rate, its own generator, its config section, babble pool) and returns the new
# wave and its record entry: None when the draw left the wave unchanged, {"skipped": reason} when it
# could not be applied.

Effect = tuple[np.ndarray, Any]


def _speed(x: np.ndarray, sr: int, rng: np.random.Generator, c: SpeedConfig, _pool) -> Effect:
    factor = float(rng.choice(c.factors))
    if factor == 1.0:
        return x, None
    return speed_perturb(x.astype(np.float32), factor, sr).astype(np.float64), factor


def _pitch(x: np.ndarray, sr: int, rng: np.random.Generator, c: PitchConfig, _pool) -> Effect:
    semitones = _uniform(rng, c.semitones)
    if semitones == 0.0:
        return x, None
    import librosa  # slow to import; only the workers that shift pitch pay for it

    y = librosa.effects.pitch_shift(x.astype(np.float32), sr=sr, n_steps=semitones, res_type="soxr_hq")
    return _fit_length(y.astype(np.float64), len(x)), {"semitones": semitones}


def _reverb(x: np.ndarray, sr: int, rng: np.random.Generator, c: ReverbConfig, _pool) -> Effect:
    from scipy.signal import oaconvolve

    rt60, drr = _uniform(rng, c.rt60), _uniform(rng, c.drr_db)
    reflections = int(rng.integers(3, 7))
    rir = simulate_rir(sr, rng, rt60, drr, reflections)
    return oaconvolve(x, rir), {"rt60": rt60, "drr_db": drr, "reflections": reflections}


def _babble(x: np.ndarray, sr: int, rng: np.random.Generator, c: BabbleConfig,
            pool: Mapping[str, np.ndarray] | None) -> Effect:
    wanted = int(rng.integers(c.speakers[0], c.speakers[1] + 1))
    snr = _uniform(rng, c.snr_db)
    ids = sorted(pool or {})  # sorted: the draw must not depend on the order the pool was filled in
    if len(ids) < c.speakers[0]:
        return x, {"skipped": f"babble pool has {len(ids)} utterance(s), {c.speakers[0]} needed"}
    chosen = [ids[i] for i in sorted(rng.choice(len(ids), size=min(wanted, len(ids)), replace=False))]
    babble = np.zeros(len(x))
    for utt in chosen:
        w = np.asarray(pool[utt], dtype=np.float64)
        # Each talker from a random point, looped to cover the utterance, all at the same level.
        w = np.resize(np.roll(w, -int(rng.integers(len(w)))), len(x))
        babble += w / np.sqrt(_power(w) + 1e-20)
    return x + _scale_to_snr(x, babble, snr), {"speakers": len(chosen), "snr_db": snr, "sources": chosen}


def _noise(x: np.ndarray, sr: int, rng: np.random.Generator, c: NoiseConfig, _pool) -> Effect:
    color = str(rng.choice(c.types))
    snr = _uniform(rng, c.snr_db)
    noise = colored_noise(len(x), color, rng, sr)
    return x + _scale_to_snr(x, noise, snr), {"type": color, "snr_db": snr}


def _telephone(x: np.ndarray, sr: int, rng: np.random.Generator, c: TelephoneConfig, _pool) -> Effect:
    from scipy.signal import butter, sosfilt

    codec = str(rng.choice(c.codecs))
    rec: dict[str, Any] = {"band_hz": [float(c.band_hz[0]), float(c.band_hz[1])], "codec": codec}
    y = resample(x.astype(np.float32), sr, TELEPHONE_RATE).astype(np.float64)
    y = sosfilt(butter(4, c.band_hz, btype="bandpass", fs=TELEPHONE_RATE, output="sos"), y)
    # Codecs saturate at full scale; run them on the wave scaled into range and restore its level after,
    # so this stage never clips (a too-loud copy is scaled down once, at the end).
    scale = max(float(np.max(np.abs(y))), 1.0)
    if codec == "mulaw":
        y = mulaw_round_trip(y / scale) * scale
    y = _fit_length(resample(y.astype(np.float32), TELEPHONE_RATE, sr).astype(np.float64), len(x))
    if codec == "g722":
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            rec["codec"], rec["codec_skipped"] = "none", "g722: ffmpeg not on PATH"
        else:
            try:
                y = g722_round_trip(y / scale, sr, ffmpeg).astype(np.float64) * scale
            except subprocess.CalledProcessError as e:
                err = e.stderr.decode(errors="replace").strip().splitlines()
                rec["codec"], rec["codec_skipped"] = "none", f"g722: ffmpeg failed ({err[-1] if err else e})"
    return y, rec


def _gain(x: np.ndarray, sr: int, rng: np.random.Generator, c: GainConfig, _pool) -> Effect:
    db = _uniform(rng, c.db)
    return x * 10.0 ** (db / 20.0), {"db": db}


def _loudness(x: np.ndarray, sr: int, rng: np.random.Generator, c: LoudnessConfig, _pool) -> Effect:
    depth, period = _uniform(rng, c.depth_db), _uniform(rng, c.period_s)
    pos = np.arange(len(x)) / (sr * period) + rng.uniform()  # in units of turning points, random phase
    points = rng.uniform(-depth / 2.0, depth / 2.0, size=int(pos[-1]) + 2)
    k = pos.astype(np.int64)
    w = (1.0 - np.cos(np.pi * (pos - k))) / 2.0  # raised cosine: smooth, no corners at the points
    envelope_db = points[k] * (1.0 - w) + points[k + 1] * w
    return x * 10.0 ** (envelope_db / 20.0), {"depth_db": depth, "period_s": period}


def peaking_filter(f0: float, gain_db: float, q: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Biquad ``(b, a)`` of a peaking equalizer (RBJ's audio EQ cookbook): ``gain_db`` at ``f0``, width ``q``."""
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * f0 / sr
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1.0 + alpha * amp, -2.0 * np.cos(w0), 1.0 - alpha * amp])
    a = np.array([1.0 + alpha / amp, -2.0 * np.cos(w0), 1.0 - alpha / amp])
    return b / a[0], a / a[0]


def _mic(x: np.ndarray, sr: int, rng: np.random.Generator, c: MicConfig, _pool) -> Effect:
    from scipy.signal import butter, lfilter, sosfilt

    low = _uniform(rng, c.low_cut_hz, 0)
    y = sosfilt(butter(2, low, btype="highpass", fs=sr, output="sos"), x)
    rec: dict[str, Any] = {"low_cut_hz": low}
    if rng.random() < c.high_cut_prob:
        high = min(_uniform(rng, c.high_cut_hz, 0), 0.45 * sr)
        y = sosfilt(butter(6, high, btype="lowpass", fs=sr, output="sos"), y)
        rec["high_cut_hz"] = high
    # Tilt: a first-order high shelf, 1 at DC and ~tilt_db at 8 kHz (the input plus a scaled 1 kHz high-pass).
    tilt = _uniform(rng, c.tilt_db, 1)
    if tilt:
        y = y + (10.0 ** (tilt / 20.0) - 1.0) * sosfilt(butter(1, 1000.0, btype="highpass", fs=sr, output="sos"), y)
        rec["tilt_db"] = tilt
    peaks = []
    for _ in range(int(rng.integers(c.peaks[0], c.peaks[1] + 1))):
        f0 = round(float(np.exp(rng.uniform(np.log(200.0), np.log(0.4 * sr)))))
        gain, q = _uniform(rng, c.peak_db, 1), _uniform(rng, [0.7, 3.0])
        b, a = peaking_filter(f0, gain, q, sr)
        y = lfilter(b, a, y)
        peaks.append({"hz": f0, "db": gain, "q": q})
    if peaks:
        rec["peaks"] = peaks
    return y, rec


def mp3_kbps(compression: float) -> int:
    """The constant bit rate of an MP3 ``compression`` level: :data:`MP3_KBPS` interpolated, a multiple of 8."""
    hi, lo = MP3_KBPS
    return int(8 * round((hi + (lo - hi) * compression / MAX_MP3_COMPRESSION) / 8))


def mp3_round_trip(x: np.ndarray, sample_rate: int, compression: float) -> np.ndarray:
    """``x`` encoded as MP3 and decoded again, same length and in step; ``compression`` in [0, 0.9].

    LAME through ``lameenc`` in its fast mode: libsndfile's own MP3 writer (LAME at a slower setting)
    took 17 ms per 2 s utterance, most of what augmenting a corpus cost; this takes ~4.
    """
    import io

    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(mp3_kbps(compression))
    enc.set_in_sample_rate(sample_rate)
    enc.set_channels(1)
    enc.set_quality(MP3_QUALITY)
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    data = enc.encode(pcm) + enc.flush()
    y, _ = sf.read(io.BytesIO(bytes(data)), dtype="float64")
    return _fit_length(y[MP3_DELAY:], len(x))


def _codec(x: np.ndarray, sr: int, rng: np.random.Generator, c: CodecConfig, _pool) -> Effect:
    level = _uniform(rng, c.compression)
    # The codec saturates at full scale: run it on the wave scaled into range, restore the level after.
    scale = max(float(np.max(np.abs(x))), 1.0)
    return mp3_round_trip(x / scale, sr, level) * scale, {"type": "mp3", "compression": level, "kbps": mp3_kbps(level)}


_APPLY = {"speed": _speed, "pitch": _pitch, "reverb": _reverb, "babble": _babble, "noise": _noise,
          "telephone": _telephone, "gain": _gain, "loudness": _loudness, "mic": _mic, "codec": _codec}


def augment_waveform(wave: np.ndarray, sample_rate: int, rng: np.random.Generator, cfg: AugmentConfig,
                     babble_pool: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """One augmented copy of ``wave (N,)``: ``(wave (M,) float32 in [-1, 1], record)``.

    ``M`` differs from ``N`` only with ``speed`` (``N / f``) and ``reverb`` (plus the RIR length).
    ``babble_pool`` maps utterance ids to waveforms ``(N_i,)`` at ``sample_rate``; it must not hold
    the utterance itself. The record maps each applied effect to its parameters (module docstring),
    ``"skipped"`` to ``{effect: reason}`` for effects drawn but impossible, and ``"peak_norm_db"`` to
    the gain that brought the peak back to 0.99; ``{"clean": True}`` when nothing was applied.
    Deterministic given the state of ``rng``. Raises AugmentError for empty, silent or non-finite input.
    """
    x = np.asarray(wave)
    if x.ndim != 1:
        raise AugmentError(f"expected a mono waveform (N,), got shape {x.shape}")
    if len(x) < MIN_SAMPLES * sample_rate // SAMPLE_RATE:
        raise AugmentError(f"too short to augment ({len(x)} samples)")
    if not np.all(np.isfinite(x)):
        raise AugmentError("contains NaN or infinite samples")
    if not np.any(x):
        raise AugmentError("is all zeros (silent): no level to set an SNR against")
    x = x.astype(np.float64)  # float64 inside: SNRs and gains exact, no float32 round-off piling up
    clean = rng.random() < cfg.clean_prob
    seeds = rng.integers(0, 2**63, size=len(EFFECTS))  # drawn even when clean: same stream either way
    record: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    if not clean:
        for name, seed in zip(EFFECTS, seeds, strict=True):
            section = getattr(cfg, name)
            sub = np.random.default_rng(int(seed))
            if sub.random() >= section.prob:
                continue
            x, entry = _APPLY[name](x, sample_rate, sub, section, babble_pool)
            if isinstance(entry, dict) and "skipped" in entry:
                skipped[name] = entry["skipped"]
            elif entry is not None:
                record[name] = entry
    if skipped:
        record["skipped"] = skipped
    if not any(k in record for k in EFFECTS):
        record["clean"] = True
    peak = float(np.max(np.abs(x)))
    if peak > 1.0:
        x = x * (PEAK / peak)
        record["peak_norm_db"] = round(20.0 * np.log10(PEAK / peak), 2)
    return x.astype(np.float32), record


def utterance_rng(seed: int, utt: str, copy: int = 1) -> np.random.Generator:
    """The generator of copy ``copy`` of ``utt``: depends on nothing else (not the job split, not the order)."""
    digest = hashlib.sha256(f"{copy}/{utt}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


# ----------------------------------------------------------------------------------------------- data dir


def prefix(copy: int) -> str:
    return f"aug{copy}"


def config_key(cfg: AugmentConfig, seed: int) -> str:
    """Names what a written copy was made with; a file with another key is made again on resume."""
    blob = json.dumps({"config": dataclasses.asdict(cfg), "seed": seed, "version": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _write_flac(path: Path, wave: np.ndarray, sample_rate: int, comment: str) -> None:
    """Atomic, so a file that exists is complete, record included (that is what resuming relies on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # format= explicit: the temporary name ends in .tmp, not .flac
    with atomic_path(path) as tmp, sf.SoundFile(tmp, "w", sample_rate, 1, "PCM_16", format="FLAC") as f:
        f.comment = comment  # before the audio: libsndfile writes the tags with the header
        f.write(np.clip(wave, -1.0, 1.0))


def _read_written(path: str, key: str) -> tuple[int, dict] | None:
    """``(samples, record)`` of a complete copy made with ``key``, else None."""
    try:
        with sf.SoundFile(path) as f:
            meta = json.loads(f.comment)
            if meta.get("key") != key or not isinstance(meta.get("record"), dict) or f.frames <= 0:
                return None
            f.seek(f.frames - 1)  # the header can outlive a cut-off file: the last sample must decode too
            if len(f.read(1)) == 1:
                return f.frames, meta["record"]
    except Exception:  # missing, foreign or damaged: make it again
        pass
    return None


_STATE: dict[str, Any] = {}  # set before the worker processes fork, which inherit it (the pool is not pickled)


def _augment_one(job: tuple[str, int, str, str]) -> tuple[str, int, int, dict | None, str]:
    """``(status, copy, samples, record, error)`` for one copy; status is written, reused or skipped."""
    utt, copy, src, dst = job
    key = _STATE["key"]
    done = _read_written(dst, key)
    if done:
        return "reused", copy, done[0], done[1], ""
    try:
        wave = load_audio(src, SAMPLE_RATE)
        pool = {u: w for u, w in _STATE["pool"].items() if u != utt}
        out, record = augment_waveform(wave, SAMPLE_RATE, utterance_rng(_STATE["seed"], utt, copy), _STATE["cfg"],
                                       pool)
    except AudioError as e:
        return "skipped", copy, 0, None, str(e)
    except AugmentError as e:
        return "skipped", copy, 0, None, f"{src}: {e}"
    _write_flac(Path(dst), out, SAMPLE_RATE, json.dumps({"key": key, "record": record}, sort_keys=True))
    return "written", copy, len(out), record, ""


def _load_babble_pool(src: DataDir, cfg: AugmentConfig, seed: int) -> dict[str, np.ndarray]:
    """Up to ``babble.pool_size`` utterances of ``src`` (a seeded draw), readable and not silent."""
    if cfg.babble.prob == 0 or cfg.clean_prob == 1:
        return {}
    utts = src.utt_ids
    rng = np.random.default_rng([seed, 0xBAB])
    picked = sorted(rng.choice(len(utts), size=min(cfg.babble.pool_size, len(utts)), replace=False))
    pool = {}
    for i in picked:
        try:
            wave = load_audio(src.audio_path(utts[i]), SAMPLE_RATE)
        except AudioError as e:
            log.warning("babble pool: leaving out %s: %s", utts[i], e)
            continue
        if np.all(np.isfinite(wave)) and np.any(wave):
            pool[utts[i]] = wave
    return pool


def _summarize(records: dict[str, dict], skipped: dict[str, str], src_count: int, copies: int, seed: int,
               key: str, statuses: Counter, seconds: float) -> dict[str, Any]:
    mix: Counter = Counter()
    details: dict[str, Counter] = {"speed": Counter(), "noise": Counter(), "telephone": Counter()}
    effects_skipped: Counter = Counter()
    for rec in records.values():
        mix.update(k for k in EFFECTS if k in rec)
        mix["clean"] += bool(rec.get("clean"))
        mix["peak_normalized"] += "peak_norm_db" in rec
        if "speed" in rec:
            details["speed"][f"{rec['speed']:g}"] += 1
        if "noise" in rec:
            details["noise"][rec["noise"]["type"]] += 1
        if "telephone" in rec:
            details["telephone"][rec["telephone"]["codec"]] += 1
            if "codec_skipped" in rec["telephone"]:
                effects_skipped[f"telephone: {rec['telephone']['codec_skipped']}"] += 1
        for effect, reason in rec.get("skipped", {}).items():
            effects_skipped[f"{effect}: {reason}"] += 1
    n = max(len(records), 1)
    return {
        "source_utterances": src_count, "copies": copies, "seed": seed, "config_key": key,
        "augmented_utterances": len(records), "written": statuses["written"], "reused": statuses["reused"],
        "hours": round(seconds / 3600.0, 4),
        "mix": {k: mix[k] for k in ("clean", *EFFECTS, "peak_normalized")},
        "mix_share": {k: round(mix[k] / n, 4) for k in ("clean", *EFFECTS, "peak_normalized")},
        "details": {k: dict(sorted(v.items())) for k, v in details.items()},
        "effects_skipped": dict(sorted(effects_skipped.items())),
        "skipped_count": len(skipped),
        "skipped_utterances": dict(sorted(skipped.items())),
    }


def augment_datadir(src_dir: str | os.PathLike, out_dir: str | os.PathLike, cfg: AugmentConfig | None = None,
                    copies: int = 1, seed: int = 0, audio_dir: str | os.PathLike | None = None,
                    keep_original: bool = False, nj: int = 2) -> dict[str, Any]:
    """Write ``out_dir`` (module docstring) and return its summary (also in ``augment_summary.json``).

    Source utterances that cannot be read or augmented are left out, logged and named in the summary;
    raises ValueError when none could be.
    """
    cfg = cfg or AugmentConfig()
    cfg.check()
    if copies < 1:
        raise ValueError(f"--copies must be at least 1, got {copies}")
    if seed < 0:
        raise ValueError(f"--seed must be non-negative, got {seed}")
    src = read_datadir(src_dir)
    out = Path(out_dir)
    audio_root = Path(audio_dir) if audio_dir else out / "audio"
    key = config_key(cfg, seed)
    _STATE.update(cfg=cfg, seed=seed, key=key, pool=_load_babble_pool(src, cfg, seed))

    res = DataDir()
    records: dict[str, dict] = {}
    if keep_original:
        res = src.subset(src.utt_ids)
        res.wav = {u: os.path.abspath(src.audio_path(u)) for u in src.utt_ids}
    jobs = []
    for k in range(1, copies + 1):
        for u in src.utt_ids:
            dst = audio_root / prefix(k) / src.utt2spk[u] / f"{prefix(k)}-{u}.flac"
            jobs.append((u, k, str(src.audio_path(u)), os.path.abspath(dst)))
    ctx = mp.get_context("fork") if nj > 1 else None
    pool = ctx.Pool(nj) if ctx else None
    results = pool.imap(_augment_one, jobs, chunksize=4) if pool else map(_augment_one, jobs)
    statuses: Counter = Counter()
    skipped: dict[str, str] = {}
    seconds = 0.0
    try:
        for (utt, k, _, dst), (status, _, samples, record, err) in tqdm(
                zip(jobs, results, strict=True), total=len(jobs), desc=f"augment {Path(src_dir).name}", unit="utt",
                disable=None):
            statuses[status] += 1
            if status == "skipped":
                if utt not in skipped:
                    log.warning("skipping %s: %s", utt, err)
                skipped.setdefault(utt, err)
                continue
            new = res.add_copy(src, utt, prefix(k), dst, samples / SAMPLE_RATE)
            records[new] = record
            seconds += samples / SAMPLE_RATE
    finally:
        if pool:
            pool.close()
            pool.join()
        _STATE.clear()
    summary = _summarize(records, skipped, len(src), copies, seed, key, statuses, seconds)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "augment_summary.json", json.dumps(summary, indent=2) + "\n")
    if not records:  # no empty data dir that a later stage could take for a result
        raise ValueError(f"{src_dir}: no utterance could be augmented (see {out / 'augment_summary.json'})")
    for utt in skipped:  # an original that cannot be read is no better as an original
        for table in (res.wav, res.text, res.utt2spk, res.utt2dur):
            table.pop(utt, None)
    res.root = out
    write_datadir(res, out)
    aug = {u: records.get(u, {"original": True}) for u in res.utt_ids}
    atomic_write_text(out / "utt2aug", "".join(f"{u} {json.dumps(r, sort_keys=True)}\n" for u, r in aug.items()))
    save_config(cfg, out / "augment.yaml")
    problems = validate_datadir(out, check_audio=False)
    if problems:
        raise RuntimeError(f"{out}: wrote an invalid data dir: {problems[:3]}")
    log.info("%s: %d copies (%.2f h; %d written, %d reused), %d source utterances skipped", out, len(records),
             seconds / 3600.0, statuses["written"], statuses["reused"], len(skipped))
    return summary
