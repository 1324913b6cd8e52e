"""Stage 0: build a synthetic speech corpus (train/dev/test data directories) with TTS.

Design
------
* **Text.** Prompt sentences (default: the shipped WordNet examples) are normalized with
  :func:`asr.text.normalize.normalize_text`, filtered by length, then split *by sentence* into
  disjoint test / dev / train pools with a seeded shuffle. The normalized text is what is spoken,
  so audio and transcript always match.
* **Engines and voices.** Every installed engine among eSpeak (pip), Piper and hibari (pip extras),
  Flite, Festival, RHVoice, MBROLA and SVOX Pico (Debian) is used; the log and the corpus card say which.
  Which voices are held out for dev and test, and each engine's share of the utterances, come from
  a data file (``asr/data/voices.yaml``, :mod:`asr.data.voices`). eSpeak voices are ``<accent>+<variant>``
  and are split by variant: a held-out variant is never used in train under any accent, so dev
  and test measure generalisation to unseen voices (accents are shared). Piper has a single
  voice, which cannot be split, so it is used for train only; so are RHVoice, MBROLA, Pico and hibari
  (one neural voice made into 200 speakers by voice conversion), whose voices the shipped inventory
  does not hold out. ``heldout_engines`` leaves whole
  engines out of train/dev/test and gives each a ``test_<engine>`` set spoken by all its voices
  (the same sentences as ``test``): generalisation to an engine never heard.
* **Determinism.** Everything about utterance *i* of a split -- sentence, engine, voice,
  prosody parameters, noise seed -- is drawn from a RNG seeded with ``(seed, split, i)``, so the
  corpus does not depend on ``nj``. The number of train utterances is fixed in advance from a
  duration *estimate* (calibrated characters-per-second model), not from measured audio, so
  it is reproducible too; ``corpus_card.json`` reports the measured hours. Transcripts, speakers
  and durations are identical for any ``nj``; so are most wavs, except that eSpeak variants with
  breath noise (f2, f3, whisper, ...) differ slightly in noise samples between processes.
* **Robustness.** A failed utterance is logged, counted and left out; the data directories only
  list utterances whose audio was written. Wavs are written atomically and existing ones are
  reused, so an interrupted run can be resumed by running the same command again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import signal
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from asr.config import option
from asr.data.audio import write_wav
from asr.data.datadir import DataDir, validate_datadir, write_datadir
from asr.data.tts import ENGINE_NAMES
from asr.data.tts.base import OUTPUT_SAMPLE_RATE, TTSError
from asr.data.voices import DEFAULT_INVENTORY, ESPEAK_DEFAULT_VARIANT, SplitVoices, load_inventory, plan_voices
from asr.io import atomic_write_text
from asr.text.normalize import normalize_text
from asr.text.prompts import load_prompt_sources

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")  # plus test_<engine> for each held-out engine
ALL_ENGINES = ENGINE_NAMES
# The eSpeak variants the shipped inventory holds out (asr.data.voices.DEFAULT_INVENTORY).
_ESPEAK_HELD_OUT = load_inventory()["espeak"]
DEFAULT_TEST_VARIANTS = tuple(_ESPEAK_HELD_OUT.test)
DEFAULT_DEV_VARIANTS = tuple(_ESPEAK_HELD_OUT.dev)
DEFAULT_VARIANT = ESPEAK_DEFAULT_VARIANT
# --size presets (hours of train audio): a CPU demo in minutes, and a corpus for GPU training.
SIZES = {"demo": 2.0, "full": 100.0}
CRASH_TEST_ENV = "ASR_SYNTH_CRASH_UTT"  # tests: the worker speaking this utterance id segfaults

# Duration model used to size the train set: seconds ~= a + b * characters * speed_factor
# (+ word gaps for eSpeak). Fitted on ~400 eSpeak and ~70 Piper utterances drawn with the default
# parameter ranges; the estimated total is within ~1% of the measured one.
_ESPEAK_EST = (0.10, 0.0524)  # s, s per character at 175 wpm
_PIPER_EST = (0.31, 0.0487)  # s, s per character at length_scale 1
_FLITE_EST = (0.20, 0.055)  # s, s per character at duration_stretch 1 (a few sentences per voice)
_FESTIVAL_EST = (0.20, 0.060)
# Fitted on 20 sentences per voice with the default parameter ranges (characters scaled by the normal
# rate over the drawn one: RHVoice and Pico in percent, MBROLA in words per minute); on 20 other
# sentences per voice the estimated total was within 1% (RHVoice, Pico) and 3% (MBROLA) of the measured.
_RHVOICE_EST = (0.49, 0.0498)  # s, s per character at rate 100 (80 utterances: 4 voices)
_MBROLA_EST = (0.15, 0.0430)  # s, s per character at 175 wpm (80 utterances: 4 voices)
_PICO_EST = (0.32, 0.0533)  # s, s per character at speed 100 (40 utterances: 2 voices)
_HIBARI_EST = (0.31, 0.0494)  # s, s per character at the voice's rate x speed (60 voices; 1% on 60 others)
# Engines whose voices plan_job drew before RHVoice, MBROLA and Pico existed: the new engines' draws
# come after all of these, so a corpus without the new engines is the same as before they were added.
_FIRST_OTHER_ENGINES = ("festival", "flite", "piper")
_DEBIAN_INSTALL = ("apt-get install flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts; "
                   "with Debian's contrib and non-free components: apt-get install rhvoice rhvoice-english "
                   "espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 libttspico-utils")


# The shipped prompt sentences are package data (pyproject.toml): found beside this module, so an
# installed wheel has them too, not only a source checkout.
TEXT_DIR = Path(__file__).resolve().parent / "text"


def default_prompts_path() -> Path:
    """The shipped prompt file, ``asr/data/text/wordnet_sentences.txt`` (:mod:`asr.text.prompts`)."""
    return TEXT_DIR / "wordnet_sentences.txt"


def fortune_prompts_path() -> Path:
    """The shipped fortune sentences (:mod:`asr.text.prompts`), added to WordNet's for ``--size full``."""
    return TEXT_DIR / "fortune_sentences.txt"


def _default_nj() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _range(default: tuple, help: str) -> Any:  # noqa: A002
    """A ``(low, high)`` field: ``--flag LO,HI`` on the command line."""
    return option(default, help=help, metavar="LO,HI")


@dataclass
class SynthConfig:
    """What ``asr synth-corpus`` builds; every field is also its ``--field-name`` flag (help below)."""

    out_dir: str = option("data/synth", help="corpus directory (wav/, train/, dev/, test/)")
    prompts: str | None = option(  # None: default_prompts_path()
        None, help="prompt files (one sentence per line), comma separated; deduplicated across files "
                   "(default: the shipped WordNet examples, plus the fortune sentences for --size full)")
    engine_prompts: str = option(
        "", metavar="ENGINE=FILE,...",
        help="training sentences of these engines from FILE instead of --prompts, e.g. hibari=books.txt "
             "(the recipe's book sentences, read in its most natural voice); dev and test keep --prompts'")
    engine_prompt_words: tuple[int, int] = _range((10, 30), "sentence length range of --engine-prompts, in words")
    train_hours: float = option(3.0, help="hours of training audio (estimated)")
    dev_utts: int = option(200, help="dev utterances")
    test_utts: int = option(300, help="test utterances")
    seed: int = option(0, help="random seed")
    nj: int = option(default_factory=_default_nj, help="parallel worker processes")
    engines: list[str] = option(  # the installed ones are used
        default_factory=lambda: list(ALL_ENGINES), metavar="ENGINES",
        help="TTS engines, comma separated; those not installed are skipped (and named in the log)")
    voices: str | None = option(  # None: asr/data/voices.yaml
        None, help="voice inventory: held-out dev/test voices and engine shares (default: asr/data/voices.yaml)")
    heldout_engines: list[str] = option(  # left out of train/dev/test; own test_<engine>
        default_factory=list, metavar="HELDOUT_ENGINES",
        help="engines left out of train/dev/test, each tested on its own test_<engine> set")
    min_words: int = option(3, help="shortest sentence, in words")
    max_words: int = option(25, help="longest sentence, in words")
    espeak_rate: tuple[int, int] = _range((130, 230), "eSpeak speaking rate range, words per minute")
    # 0-100, relative to the variant's base pitch
    espeak_pitch: tuple[int, int] = _range((20, 80), "eSpeak pitch range (0-100)")
    # 0-100; 0 is monotone
    espeak_pitch_range: tuple[int, int] = _range((20, 90), "range of eSpeak's intonation range parameter (0-100)")
    espeak_word_gap: tuple[int, int] = _range((0, 3), "eSpeak extra pause between words, units of 10 ms")
    piper_length_scale: tuple[float, float] = _range((0.85, 1.2), "Piper length scale range (>1 is slower)")
    piper_noise_scale: tuple[float, float] = _range((0.5, 0.8), "Piper generator noise range")
    piper_noise_w: tuple[float, float] = _range((0.6, 1.0), "Piper duration noise range")
    flite_duration_stretch: tuple[float, float] = _range((0.85, 1.2), "Flite duration stretch range (>1 is slower)")
    festival_duration_stretch: tuple[float, float] = _range((0.85, 1.2),
                                                            "Festival duration stretch range (>1 is slower)")
    rhvoice_rate: tuple[int, int] = _range((85, 120), "RHVoice speaking rate range, percent of normal "
                                                      "(>100 is faster)")
    rhvoice_pitch: tuple[int, int] = _range((85, 115), "RHVoice pitch range, percent of normal")
    # eSpeak's default rate: 175
    mbrola_rate: tuple[int, int] = _range((150, 210), "MBROLA (espeak-ng) speaking rate range, words per minute")
    # ~1% of F0 a unit
    mbrola_pitch: tuple[int, int] = _range((35, 65), "MBROLA pitch range (espeak-ng's 0-99; 50 is the voice's own)")
    mbrola_pitch_range: tuple[int, int] = _range(
        (35, 75), "range of MBROLA's intonation range parameter (0-100; 50 is the voice's own, 0 monotone)")
    pico_speed: tuple[int, int] = _range((85, 120), "SVOX Pico speed range, percent of normal (>100 is faster)")
    pico_pitch: tuple[int, int] = _range((85, 115), "SVOX Pico pitch range, percent of normal")
    hibari_speed: tuple[float, float] = _range((0.9, 1.1), "hibari speaking-rate range, times the voice's own "
                                                           "rate (>1 is faster)")
    hibari_voices: int = option(200, help="hibari's converted speakers (heart-000 ...) used besides heart itself; "
                                          "0: heart alone")
    trim_db: float = option(40.0, help="silence trimmed at each end: frames this many dB below the loudest frame")
    trim_pad: float = option(0.1, help="seconds of silence kept at each end after trimming")

    def __post_init__(self) -> None:
        from asr.data.tts.hibari import N_DERIVED_VOICES

        if not 0 <= self.hibari_voices <= N_DERIVED_VOICES:
            raise ValueError(f"--hibari-voices: {self.hibari_voices} is not in 0..{N_DERIVED_VOICES}")
        unknown = sorted(set(self.engine_prompt_paths()) - set(ALL_ENGINES))
        if unknown:
            raise ValueError(f"--engine-prompts: unknown engine(s) {unknown}; known: {', '.join(ALL_ENGINES)}")
        for f in fields(self):
            if f.metadata.get("metavar") == "LO,HI":
                lo, hi = getattr(self, f.name)
                if lo > hi:
                    raise ValueError(f"--{f.name.replace('_', '-')}: LO > HI in {lo},{hi}")

    def prompts_paths(self) -> list[Path]:
        return [Path(x) for x in self.prompts.split(",") if x] if self.prompts else [default_prompts_path()]

    def engine_prompt_paths(self) -> dict[str, Path]:
        """``--engine-prompts hibari=a.txt,piper=b.txt`` -> ``{"hibari": Path("a.txt"), "piper": Path("b.txt")}``."""
        out: dict[str, Path] = {}
        for item in filter(None, (x.strip() for x in self.engine_prompts.split(","))):
            engine, sep, path = item.partition("=")
            if not sep or not engine or not path:
                raise ValueError(f"--engine-prompts: {item!r} is not ENGINE=FILE")
            if engine in out:
                raise ValueError(f"--engine-prompts: {engine} given twice")
            out[engine] = Path(path)
        return out


# Fields that may change between a run and its resumption; any other change makes existing
# wavs stale, so resuming refuses. The prompt files are compared by content (prompts_sha1), not by
# path: the shipped files have another path in a source checkout, a wheel install or an older layout.
_RESUMABLE_FIELDS = {"out_dir", "nj", "train_hours", "prompts", "engine_prompts"}


# --------------------------------------------------------------------------------------------
# Planning


@dataclass
class Job:
    utt: str
    split: str
    index: int
    spk: str
    engine: str
    voice: str
    text: str
    params: dict[str, Any]
    wav: str  # absolute path


def safe_id(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", s)


def speaker_id(engine: str, voice: str) -> str:
    """``espeak`` + ``en-us+m3`` -> ``espeak_en-us_m3``; ``piper`` + ``piper-joe`` -> ``piper_joe``;
    ``flite`` + ``slt`` -> ``flite_slt``; ``pico`` + ``en-US`` -> ``pico_en-US``."""
    if engine == "piper":
        return "piper_" + safe_id(voice.removeprefix("piper-"))
    if engine != "espeak":
        return f"{engine}_{safe_id(voice)}"
    lang, _, variant = voice.partition("+")
    return f"espeak_{safe_id(lang)}_{safe_id(variant or DEFAULT_VARIANT)}"


def _normalized_unique(sentences: list[str], min_words: int, max_words: int) -> list[str]:
    """Sentences normalized, ``min_words``..``max_words`` long, first occurrence of each kept, in order."""
    seen: set[str] = set()
    texts = []
    for s in sentences:
        t = normalize_text(s)
        if max(1, min_words) <= len(t.split()) <= max_words and t not in seen:
            seen.add(t)
            texts.append(t)
    return texts


def make_pools(sentences: list[str], cfg: SynthConfig) -> dict[str, list[str]]:
    """Normalize, filter, deduplicate and split sentences into disjoint test/dev/train pools."""
    texts = _normalized_unique(sentences, cfg.min_words, cfg.max_words)
    random.Random(f"{cfg.seed}:pools").shuffle(texts)
    n_test, n_dev = cfg.test_utts, cfg.dev_utts
    if len(texts) < n_test + n_dev + 1:
        raise ValueError(f"only {len(texts)} usable sentences for {n_test} test + {n_dev} dev + train")
    return {"test": texts[:n_test], "dev": texts[n_test:n_test + n_dev], "train": texts[n_test + n_dev:]}


def make_engine_pool(sentences: list[str], cfg: SynthConfig, engine: str, held_out: set[str]) -> list[str]:
    """An engine's own training sentences (``--engine-prompts``): normalized, ``engine_prompt_words`` long,
    deduplicated, none of them a dev or test sentence (``held_out``), shuffled by the seed."""
    lo, hi = cfg.engine_prompt_words
    texts = [t for t in _normalized_unique(sentences, lo, hi) if t not in held_out]
    if not texts:
        raise ValueError(f"--engine-prompts: no sentence of {lo}-{hi} words for {engine}")
    random.Random(f"{cfg.seed}:pool:{engine}").shuffle(texts)
    return texts


def _uniform_int(rng: random.Random, lo_hi) -> int:
    lo, hi = lo_hi
    return rng.randint(int(lo), int(hi))


def _uniform(rng: random.Random, lo_hi) -> float:
    lo, hi = lo_hi
    return round(rng.uniform(float(lo), float(hi)), 3)


def plan_job(cfg: SynthConfig, split: str, index: int, pool: list[str], languages: list[str],
             voices: SplitVoices, wav_root: Path, engine_pools: dict[str, list[str]] | None = None) -> Job:
    """Everything about utterance ``index`` of ``split``, from a RNG seeded by (seed, split, index).

    The draws happen in a fixed order whatever the engines, so an eSpeak utterance is the same
    whichever other engines are installed (and the same as before Flite and Festival were added).
    The draws for RHVoice, MBROLA and Pico come after all the others, so a corpus made without
    them is the same as before they were added. ``engine_pools``: engines that read their own sentences
    (``--engine-prompts``); the draws are the same, only their text comes from that pool.
    """
    rng = random.Random(f"{cfg.seed}:{split}:{index}")
    u_engine = rng.random()
    lang = rng.choice(languages)
    variant = rng.choice(voices.voices.get("espeak") or [DEFAULT_VARIANT])
    espeak_params = {
        "rate": _uniform_int(rng, cfg.espeak_rate),
        "pitch": _uniform_int(rng, cfg.espeak_pitch),
        "pitch_range": _uniform_int(rng, cfg.espeak_pitch_range),
        "word_gap": _uniform_int(rng, cfg.espeak_word_gap),
    }
    piper_params = {
        "length_scale": _uniform(rng, cfg.piper_length_scale),
        "noise_scale": _uniform(rng, cfg.piper_noise_scale),
        "noise_w": _uniform(rng, cfg.piper_noise_w),
    }
    seed = rng.randrange(2**31)
    other_voice = {e: rng.choice(v) for e, v in sorted(voices.voices.items()) if e in _FIRST_OTHER_ENGINES}
    other_params = {"flite": {"duration_stretch": _uniform(rng, cfg.flite_duration_stretch)},
                    "festival": {"duration_stretch": _uniform(rng, cfg.festival_duration_stretch)},
                    "piper": piper_params}
    other_params["rhvoice"] = {"rate": _uniform_int(rng, cfg.rhvoice_rate),
                               "pitch": _uniform_int(rng, cfg.rhvoice_pitch)}
    other_params["mbrola"] = {"rate": _uniform_int(rng, cfg.mbrola_rate), "pitch": _uniform_int(rng, cfg.mbrola_pitch),
                              "pitch_range": _uniform_int(rng, cfg.mbrola_pitch_range)}
    other_params["pico"] = {"speed": _uniform_int(rng, cfg.pico_speed), "pitch": _uniform_int(rng, cfg.pico_pitch)}
    other_params["mbrola_accent"] = other_params["mbrola"]  # the same program and ranges: no draws of its own
    for e in ENGINE_NAMES:  # engines added later, in a fixed order, after every other draw
        if e != "espeak" and e not in _FIRST_OTHER_ENGINES and voices.voices.get(e):
            other_voice[e] = rng.choice(voices.voices[e])
    other_params["hibari"] = {"speed": _uniform(rng, cfg.hibari_speed)}  # after the voices: they stay as they were
    engine = voices.engine_for(u_engine)
    own = (engine_pools or {}).get(engine)
    text = own[index % len(own)] if own else pool[index % len(pool)]
    if engine == "espeak":
        params = espeak_params
        voice = lang if variant == DEFAULT_VARIANT else f"{lang}+{variant}"
    else:
        params, voice = other_params[engine], other_voice[engine]
        if engine == "piper":
            voice = "piper-joe"
    params = {**params, "seed": seed}
    spk = speaker_id(engine, voice)
    utt = f"{spk}-{split}{index:06d}"
    return Job(utt=utt, split=split, index=index, spk=spk, engine=engine, voice=voice, text=text,
               params=params, wav=str(wav_root / split / f"{utt}.wav"))


def estimate_duration(job: Job) -> float:
    """Expected seconds of audio (after trimming) for a job; used only to size the train set."""
    n_chars = len(job.text)
    if job.engine == "piper":
        a, b = _PIPER_EST
        return a + b * n_chars * job.params["length_scale"]
    if job.engine in ("flite", "festival"):
        a, b = _FLITE_EST if job.engine == "flite" else _FESTIVAL_EST
        return a + b * n_chars * job.params["duration_stretch"]
    if job.engine == "rhvoice":
        a, b = _RHVOICE_EST
        return a + b * n_chars * 100.0 / job.params["rate"]
    if job.engine in ("mbrola", "mbrola_accent"):
        a, b = _MBROLA_EST
        return a + b * n_chars * 175.0 / job.params["rate"]
    if job.engine == "pico":
        a, b = _PICO_EST
        return a + b * n_chars * 100.0 / job.params["speed"]
    if job.engine == "hibari":
        from asr.data.tts.hibari import voice_shape

        a, b = _HIBARI_EST
        return a + b * n_chars / (voice_shape(job.voice).rate * job.params["speed"])
    a, b = _ESPEAK_EST
    n_gaps = max(0, len(job.text.split()) - 1)
    return a + b * n_chars * 175.0 / job.params["rate"] + 0.01 * job.params["word_gap"] * n_gaps


def plan_split(cfg: SynthConfig, split: str, pool: list[str], languages: list[str], voices: SplitVoices,
               wav_root: Path, engine_pools: dict[str, list[str]] | None = None) -> list[Job]:
    """Jobs of a split: dev and test a fixed count, train until the estimated hours reach ``train_hours``.
    ``engine_pools`` (train only): the engines' own sentences (:func:`make_engine_pool`)."""
    if split != "train":
        n = cfg.dev_utts if split == "dev" else cfg.test_utts
        return [plan_job(cfg, split, i, pool, languages, voices, wav_root) for i in range(n)]
    target = cfg.train_hours * 3600.0
    jobs: list[Job] = []
    total = 0.0
    while total < target:
        job = plan_job(cfg, split, len(jobs), pool, languages, voices, wav_root, engine_pools)
        jobs.append(job)
        total += estimate_duration(job)
    return jobs


# --------------------------------------------------------------------------------------------
# Synthesis (runs in worker processes)


def trim_silence(wav: np.ndarray, sr: int, threshold_db: float = 40.0, pad: float = 0.1) -> np.ndarray:
    """Cut leading/trailing silence: frames more than ``threshold_db`` below the loudest 10 ms
    frame (and below -60 dBFS at most), keeping ``pad`` seconds of context at each end."""
    hop = max(1, sr // 100)
    n = len(wav) // hop
    if n == 0:
        return wav
    frames = wav[: n * hop].reshape(n, hop).astype(np.float64)
    db = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    thresh = max(db.max() - threshold_db, -60.0)
    voiced = np.flatnonzero(db > thresh)
    if voiced.size == 0:
        return wav
    p = int(round(pad * sr))
    start = max(0, voiced[0] * hop - p)
    end = min(len(wav), (voiced[-1] + 1) * hop + p)
    return wav[start:end]


_ENGINES: dict[str, Any] = {}


def _engine(name: str):
    if name not in _ENGINES:
        from asr.data.tts import get_engine

        _ENGINES[name] = get_engine(name)
    return _ENGINES[name]


def synthesize_job(job: Job, trim_db: float = 40.0, trim_pad: float = 0.1) -> dict[str, Any]:
    """Make (or reuse) the wav of one job. Never raises: failures come back as ``ok=False``."""
    import soundfile as sf

    path = Path(job.wav)
    if os.environ.get(CRASH_TEST_ENV) == job.utt:  # fault injection for the crash-isolation test
        os.kill(os.getpid(), signal.SIGSEGV)
    try:
        if path.is_file():
            info = sf.info(str(path))
            if info.frames > 0 and info.samplerate == OUTPUT_SAMPLE_RATE:
                return {"utt": job.utt, "ok": True, "dur": info.frames / info.samplerate, "reused": True}
        wav, sr = _engine(job.engine).synthesize(job.text, job.voice, **job.params)
        if sr != OUTPUT_SAMPLE_RATE:
            raise TTSError(f"{job.engine} returned {sr} Hz, expected {OUTPUT_SAMPLE_RATE}")
        wav = trim_silence(np.asarray(wav, dtype=np.float32), sr, trim_db, trim_pad)
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
        if wav.size < sr // 10 or peak < 1e-3:
            raise TTSError(f"{job.engine} voice {job.voice!r}: audio empty or silent after trimming")
        if peak > 0.95:  # keep 16-bit conversion clear of clipping
            wav = wav * (0.95 / peak)
        write_wav(path, wav, sr)
        return {"utt": job.utt, "ok": True, "dur": len(wav) / sr, "reused": False}
    except Exception as e:  # noqa: BLE001 -- one bad utterance must not stop the corpus
        return {"utt": job.utt, "ok": False, "error": f"{type(e).__name__}: {e}"}


def _worker_init() -> None:
    # Workers each use one core; keep numerical libraries from spawning thread pools.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _run_chunk(tasks: list[tuple[Job, float, float]]) -> list[dict[str, Any]]:
    return [synthesize_job(*t) for t in tasks]


def _crashed(job: Job) -> dict[str, Any]:
    return {"utt": job.utt, "ok": False,
            "error": f"EngineCrash: the {job.engine} worker process died (e.g. a segfault in the engine) "
                     f"speaking voice {job.voice!r}"}


def run_jobs(jobs: list[Job], nj: int, trim_db: float, trim_pad: float, desc: str = "synth",
             progress: bool = True) -> list[dict[str, Any]]:
    """Synthesize jobs with ``nj`` processes; results come back in job order.

    Engines are C libraries and programs that can crash a worker outright (libespeak-ng has been
    seen to segfault once in ~40k utterances). With ``nj >= 2`` such a crash costs only the jobs
    that were in flight: they are re-run one per fresh process, and a job that kills its process
    again is reported failed (``EngineCrash``) instead of hanging or killing the whole build.
    ``nj <= 1`` runs in this process (no isolation).
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from tqdm import tqdm

    tasks = [(j, trim_db, trim_pad) for j in jobs]
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    bar = tqdm(total=len(tasks), desc=desc, unit="utt", disable=not progress, dynamic_ncols=True)
    try:
        if nj <= 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                results[i] = synthesize_job(*t)
                bar.update()
            return results  # type: ignore[return-value]
        import multiprocessing as mp

        # spawn: workers must not inherit the parent's library state (eSpeak, torch threads).
        ctx = mp.get_context("spawn")
        chunk = max(1, min(16, len(tasks) // (nj * 8)))
        todo = [list(range(i, min(i + chunk, len(tasks)))) for i in range(0, len(tasks), chunk)]
        suspects: list[int] = []
        while todo:
            with ProcessPoolExecutor(nj, mp_context=ctx, initializer=_worker_init) as ex:
                in_flight: dict[Any, list[int]] = {}
                broken = False
                while (todo and not broken) or in_flight:
                    while todo and not broken and len(in_flight) < 2 * nj:  # a bounded window: few suspects
                        idx = todo.pop(0)
                        in_flight[ex.submit(_run_chunk, [tasks[i] for i in idx])] = idx
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        idx = in_flight.pop(fut)
                        try:
                            for i, r in zip(idx, fut.result(), strict=True):
                                results[i] = r
                                bar.update()
                        except BrokenProcessPool:
                            broken = True
                            suspects.extend(idx)
            if broken:
                log.warning("%s: a worker process died; re-running the %d utterances it may have held one "
                            "per process", desc, len(suspects))
            for i in suspects:  # one fresh process per job: a crash now is this job's own
                with ProcessPoolExecutor(1, mp_context=ctx, initializer=_worker_init) as ex:
                    try:
                        results[i] = ex.submit(_run_chunk, [tasks[i]]).result()[0]
                    except BrokenProcessPool:
                        results[i] = _crashed(tasks[i][0])
                bar.update()
            suspects = []
    finally:
        bar.close()
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Corpus


def _config_dict(cfg: SynthConfig) -> dict[str, Any]:
    d = asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _file_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _check_resume(out: Path, resolved: dict[str, Any]) -> None:
    import yaml

    prev_path = out / "synth_config.yaml"
    if not prev_path.is_file():
        return
    prev = yaml.safe_load(prev_path.read_text(encoding="utf-8")) or {}
    # A field added since that corpus was made counts as its default there (e.g. rhvoice_rate).
    defaults = {k: v for k, v in _config_dict(SynthConfig()).items() if k not in prev}
    prev = {**defaults, **prev}
    diff = sorted(k for k in set(prev) | set(resolved)
                  if k not in _RESUMABLE_FIELDS and prev.get(k) != resolved.get(k))
    if diff:
        raise ValueError(
            f"{out} holds a corpus built with a different configuration (differs in: {', '.join(diff)}); "
            f"use another --out-dir or delete {out}"
        )


def _remove_stale(wav_dir: Path, keep: set[str]) -> int:
    """Delete wavs (and temp files) in ``wav_dir`` that the current plan does not use."""
    n = 0
    if wav_dir.is_dir():
        for p in wav_dir.iterdir():
            if p.name.endswith(".tmp") or (p.suffix == ".wav" and p.stem not in keep):
                p.unlink()
                n += 1
    return n


def build_synth_corpus(cfg: SynthConfig, progress: bool = True) -> dict[str, Any]:
    """Build ``cfg.out_dir/{train,dev,test}`` data dirs, wavs, ``corpus_card.json`` and
    ``synth_config.yaml``; returns the corpus card (a summary dict)."""
    import yaml

    from asr.data.tts import available_engines

    t0 = time.time()
    out = Path(cfg.out_dir).resolve()
    prompts_paths = cfg.prompts_paths()
    unknown = sorted(set(cfg.engines) - set(ALL_ENGINES))
    if unknown:
        raise ValueError(f"unknown TTS engine(s) {unknown}; known: {', '.join(ALL_ENGINES)}")
    engines = available_engines(cfg.engines)
    missing = [e for e in cfg.engines if e not in engines]
    if "espeak" not in engines:
        raise TTSError("the espeak engine is required (its accents and held-out variants make dev and test) "
                       "but is not available")
    log.info("TTS engines: using %s%s", ", ".join(engines),
             f"; not available: {', '.join(missing)} (Debian engines: {_DEBIAN_INSTALL}; "
             f"Piper, hibari: pip install 'asr[piper,hibari]')"
             if missing else "")
    bad_heldout = sorted(set(cfg.heldout_engines) - set(engines))
    if bad_heldout:
        raise ValueError(f"held-out engine(s) {bad_heldout} are not among the engines used ({', '.join(engines)})")
    if "espeak" in cfg.heldout_engines:
        raise ValueError("espeak cannot be held out: dev and test are built on its held-out variants")

    resolved = _config_dict(cfg)
    resolved["prompts"] = ",".join(str(x) for x in prompts_paths)
    resolved["prompts_sha1"] = ",".join(_file_sha1(x) for x in prompts_paths)
    engine_prompt_paths = cfg.engine_prompt_paths()
    for e, path in engine_prompt_paths.items():
        if not path.is_file():
            raise FileNotFoundError(f"--engine-prompts: {e}'s prompt file {path} does not exist")
    resolved["engine_prompts_sha1"] = ",".join(f"{e}={_file_sha1(p)}" for e, p in engine_prompt_paths.items())
    resolved["engines_used"] = engines
    out.mkdir(parents=True, exist_ok=True)
    _check_resume(out, resolved)
    (out / "synth_config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")

    from asr.data.tts import get_engine
    from asr.data.tts.espeak import EspeakEngine

    languages = EspeakEngine.languages()
    offered = {e: (EspeakEngine.variants() if e == "espeak" else get_engine(e).voices()) for e in engines}
    if "hibari" in offered:
        from asr.data.tts.hibari import voice_names

        offered["hibari"] = voice_names(cfg.hibari_voices)
    inventory_path = cfg.voices or DEFAULT_INVENTORY
    plan = plan_voices(load_inventory(inventory_path), offered, cfg.heldout_engines, inventory_path)
    pools = make_pools(load_prompt_sources(prompts_paths), cfg)
    for held in cfg.heldout_engines:  # the same sentences as test, other voices
        pools[f"test_{held}"] = pools["test"]
    held_out = {t for split in SPLITS if split != "train" for t in pools[split]}
    engine_pools = {e: make_engine_pool(load_prompt_sources([p]), cfg, e, held_out)
                    for e, p in engine_prompt_paths.items() if e in engines}
    log.info("sentences: %s%s", ", ".join(f"{s} {len(pools[s])}" for s in SPLITS),
             "".join(f"; {e}'s own (train) {len(p)}" for e, p in engine_pools.items()))
    for split, sv in plan.items():
        log.info("%s voices: %s", split, "; ".join(f"{e} ({sv.shares[e]:.0%}): {len(v)}" for e, v in sv.voices.items()))

    card: dict[str, Any] = {
        "created_by": "asr.data.synth",
        "seed": cfg.seed,
        "sample_rate": OUTPUT_SAMPLE_RATE,
        "prompts": resolved["prompts"],
        "prompts_sha1": resolved["prompts_sha1"],
        "engine_prompts": {e: {"file": str(engine_prompt_paths[e]), "sentences": len(p)}
                           for e, p in engine_pools.items()},
        "engines_requested": list(cfg.engines),
        "engines_used": engines,
        "heldout_engines": list(cfg.heldout_engines),
        "espeak_languages": languages,
        "voices": {split: sv.voices for split, sv in plan.items()},
        "engine_shares": {split: {e: round(x, 4) for e, x in sv.shares.items()} for split, sv in plan.items()},
        "params": {k: resolved[k] for k in ("espeak_rate", "espeak_pitch", "espeak_pitch_range",
                                            "espeak_word_gap", "piper_length_scale", "piper_noise_scale",
                                            "piper_noise_w", "flite_duration_stretch", "festival_duration_stretch",
                                            "rhvoice_rate", "rhvoice_pitch", "mbrola_rate", "mbrola_pitch",
                                            "mbrola_pitch_range", "pico_speed", "pico_pitch", "hibari_speed",
                                            "hibari_voices", "trim_db", "trim_pad")},
        "splits": {},
        "failures": [],
    }
    for split in plan:
        jobs = plan_split(cfg, split, pools[split], languages, plan[split], out / "wav",
                          engine_pools if split == "train" else None)
        removed = _remove_stale(out / "wav" / split, {j.utt for j in jobs})
        if removed:
            log.info("%s: removed %d stale files from an earlier run", split, removed)
        results = run_jobs(jobs, cfg.nj, cfg.trim_db, cfg.trim_pad, desc=f"synth {split}", progress=progress)
        dd = DataDir(root=out / split)
        failures = []
        for job, res in zip(jobs, results, strict=True):
            if not res["ok"]:
                failures.append({"split": split, "utt": job.utt, "voice": job.voice, "text": job.text,
                                 "error": res["error"]})
                continue
            dd.wav[job.utt] = job.wav
            dd.text[job.utt] = job.text
            dd.utt2spk[job.utt] = job.spk
            dd.utt2dur[job.utt] = round(res["dur"], 3)
        for f in failures[:10]:
            log.warning("%s: %s failed: %s", split, f["utt"], f["error"])
        if len(failures) > 10:
            log.warning("%s: ... %d more failures (see corpus_card.json)", split, len(failures) - 10)
        if not dd.wav:
            raise TTSError(f"{split}: every utterance failed; first error: {failures[0]['error']}")
        write_datadir(dd, out / split)
        problems = validate_datadir(out / split)
        if problems:  # a bug, not a synthesis failure: stop rather than hand on a broken corpus
            raise RuntimeError(f"{out / split} is inconsistent: " + "; ".join(problems[:5]))
        durs = list(dd.utt2dur.values())
        card["splits"][split] = {
            "utterances": len(dd),
            "planned": len(jobs),
            "failed": len(failures),
            "reused": sum(1 for r in results if r.get("reused")),
            "hours": round(sum(durs) / 3600.0, 4),
            "estimated_hours": round(sum(estimate_duration(j) for j, r in zip(jobs, results, strict=True)
                                         if r["ok"]) / 3600.0, 4),
            "mean_duration": round(float(np.mean(durs)), 3),
            "sentences": len({dd.text[u] for u in dd.wav}),
            "speakers": len(set(dd.utt2spk.values())),
            "utterances_per_engine": {e: sum(1 for j, r in zip(jobs, results, strict=True)
                                             if r["ok"] and j.engine == e) for e in engines},
            "voices": sorted({j.voice for j, r in zip(jobs, results, strict=True) if r["ok"]}),
        }
        card["failures"].extend(failures[:200])
        log.info("%s: %d utterances, %.3f h, %d failed", split, len(dd), sum(durs) / 3600.0, len(failures))
    card["failures_total"] = sum(v["failed"] for v in card["splits"].values())
    card["elapsed_seconds"] = round(time.time() - t0, 1)
    atomic_write_text(out / "corpus_card.json", json.dumps(card, indent=2) + "\n")
    return card


def speak_to_file(text: str, out: str | os.PathLike, voice: str | None = None, split: str = "test",
                  rate: int = 175, seed: int = 0) -> str:
    """Speak ``text`` (normalized first) into a 16 kHz wav with an eSpeak voice; return the voice used.

    Without ``voice``, picks the US-accent voice of the first held-out variant of ``split``, so
    the result is a voice the model never heard in training.
    """
    if voice is None:
        variants = {"test": DEFAULT_TEST_VARIANTS, "dev": DEFAULT_DEV_VARIANTS}.get(split)
        if variants is None:
            raise ValueError(f"split must be 'test' or 'dev' when no voice is given, got {split!r}")
        voice = f"en-us+{variants[0]}"
    wav, sr = _engine("espeak").synthesize(normalize_text(text), voice, rate=rate, seed=seed)
    write_wav(out, trim_silence(wav, sr), sr)
    return voice
