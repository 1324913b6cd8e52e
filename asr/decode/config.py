"""How to decode, and the model directory's tuned choice (``decode.json``); no torch.

:class:`DecodeConfig` says how CTC log-probs become words (greedy, or beam search with an LM);
:class:`TuneConfig` is the α/β grid search of ``asr tune-lm`` that writes the best one to
``<model_dir>/decode.json``, which ``asr decode`` and transcription use from then on (unless told
``--greedy``). Both dataclasses also define the command-line flags (asr.config.add_config_arguments),
so this module must stay importable without torch: the CLI builds its parser from it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from asr.config import option
from asr.io import InputError, atomic_write_text, file_sha256, read_json_object, unknown_keys_error
from asr.model.layout import WEIGHTS

log = logging.getLogger(__name__)

DECODE_JSON = "decode.json"
DEFAULT_BEAM = 50  # an LM without a beam width gets this width
BATCH_SECONDS = 240.0  # audio per forward batch when decoding a data directory
_BEAM_THRESHOLD = 25.0
# Flags both `asr decode` and `asr tune-lm` have.
_LM_HELP = "ARPA or KenLM binary LM file, or an `asr lm` output directory (lm.arpa or lm.bin + lexicon.txt)"
_LEXICON_HELP = "word spellings (a word LM without one: the lexicon `asr lm` wrote next to it)"
_THRESHOLD_HELP = "prune hypotheses this far (ln) below the best"


@dataclass
class DecodeConfig:
    """How to turn CTC log-probs into words. ``beam == 0`` is greedy (and then no LM)."""

    beam: int = option(0, help=f"beam width, 0 = greedy search (an LM without a width gets {DEFAULT_BEAM})")
    lm: str = option("", help=_LM_HELP)
    lexicon: str = option("", help=_LEXICON_HELP)
    lm_weight: float = option(1.0, flags=("--alpha",), help="alpha: weight of the LM's log10 probability")
    word_score: float = option(0.0, flags=("--beta",),
                               help="beta: bonus per word (lexicon-free: per word separator)")
    beam_threshold: float = option(_BEAM_THRESHOLD, help=_THRESHOLD_HELP)
    beam_size_token: int = option(0, help="units tried per frame (0: all)")

    def __post_init__(self):
        if self.beam < 0:
            raise ValueError(f"beam must be >= 0, got {self.beam}")
        if self.beam == 0 and (self.lm or self.lexicon):
            raise ValueError("an LM or lexicon needs beam search (beam > 0)")

    @property
    def name(self) -> str:
        if not self.beam:
            return "greedy"
        return f"beam{self.beam}" + ("_lm" if self.lm else "") + ("_lex" if self.lexicon and not self.lm else "")


# The options a caller may set on top of decode.json (resolve_decode_config, asr.decode.decoder.make_decoder).
BEAM_OPTIONS = tuple(f.name for f in fields(DecodeConfig))


@dataclass
class TuneConfig:
    """Options of ``asr tune-lm``."""

    lm: str = option(help=_LM_HELP)
    lexicon: str = option("", help=_LEXICON_HELP)
    beam: int = option(DEFAULT_BEAM, help="beam width of the grid search")
    # The grid decodes the dev set once per point, so it runs at a narrow beam; the α/β it finds carry
    # over to a wider one (real dev set: beam 50 76.3% WER, the same α/β at beam 200 74.6%).
    decode_beam: int = option(0, help="beam width written to decode.json, used by `asr decode` and "
                                      "`asr transcribe` (0: --beam)")
    # α multiplies log10 LM probabilities while acoustic scores are natural logs, hence values above 1.
    lm_weights: list[float] = option(default_factory=lambda: [0.5, 1.0, 1.5, 2.0, 3.0],
                                     help="alpha grid, comma-separated")
    word_scores: list[float] = option(default_factory=lambda: [-1.0, 0.0, 1.0, 2.0],
                                      help="beta grid, comma-separated")
    beam_threshold: float = option(_BEAM_THRESHOLD, help=_THRESHOLD_HELP)
    # Copied, the paths in decode.json stay valid when the model directory moves.
    copy_lm: bool = option(True, flags=("--copy",),
                           help="copy the LM and lexicon into the model directory (--no-copy: refer to them "
                                "where they are)")
    batch_seconds: float = option(BATCH_SECONDS, help="audio per forward batch")
    nj: int = option(0, help="beam search processes, each decoding its share of the grid (0: one per CPU core)")


# ------------------------------------------------------------------------------------ decode.json


def weights_digest(model_dir: str | os.PathLike) -> str:
    """A short hash of the model weights (16 hex digits), to notice a decode.json tuned for older weights."""
    return file_sha256(Path(model_dir) / WEIGHTS)[:16]


def save_decode_config(model_dir: str | os.PathLike, cfg: DecodeConfig, extra: dict | None = None) -> Path:
    """Write ``decode.json``; LM and lexicon paths inside ``model_dir`` are stored relative to it."""
    d = Path(model_dir).resolve()
    data = asdict(cfg)
    for key in ("lm", "lexicon"):
        if data[key]:
            p = Path(data[key]).resolve()
            data[key] = str(p.relative_to(d)) if p.is_relative_to(d) else str(p)
    data["weights_sha256"] = weights_digest(d)
    data.update(extra or {})
    return atomic_write_text(d / DECODE_JSON, json.dumps(data, indent=2) + "\n")


# What decode.json holds besides the options: records of how it was made (tune-lm, bundle).
DECODE_JSON_RECORDS = {"weights_sha256", "float32_weights_sha256", "tuning"}


def _is_type(value: object, type_name: str) -> bool:
    """Does a JSON value fit a DecodeConfig field's annotation (a string: the module has postponed annotations)?"""
    if type_name == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def load_decode_config(model_dir: str | os.PathLike) -> DecodeConfig | None:
    """The model directory's tuned decoding setup, or None when it has no decode.json."""
    d = Path(model_dir)
    path = d / DECODE_JSON
    if not path.is_file():
        return None
    data = read_json_object(path, "a JSON object of decoding options")
    # A misspelt option must not be dropped: the tuned LM search would silently become greedy.
    unknown = set(data) - set(BEAM_OPTIONS) - DECODE_JSON_RECORDS
    if unknown:
        raise unknown_keys_error(str(path), unknown, [*BEAM_OPTIONS, *DECODE_JSON_RECORDS])
    options = {k: v for k, v in data.items() if k in BEAM_OPTIONS}
    for f in fields(DecodeConfig):
        if f.name in options and not _is_type(options[f.name], f.type):
            raise InputError(f"{path}: {f.name} must be of type {f.type}, got {options[f.name]!r}")
    try:
        cfg = DecodeConfig(**options)
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None
    for key in ("lm", "lexicon"):
        value = getattr(cfg, key)
        if value and not Path(value).is_absolute():
            setattr(cfg, key, str(d / value))
    if data.get("weights_sha256") and (d / WEIGHTS).is_file() and data["weights_sha256"] != weights_digest(d):
        log.warning("%s was tuned for other weights of this model (retrained since?); rerun `asr tune-lm`", path)
    return cfg


def resolve_decode_config(model_dir: str | os.PathLike, beam: int | None = None, lm: str | None = None,
                          lexicon: str | None = None, lm_weight: float | None = None,
                          word_score: float | None = None, greedy: bool = False, **options) -> DecodeConfig:
    """The options given (None: not given), on top of the model's decode.json (if any), on top of the defaults.

    ``greedy`` ignores decode.json. A new ``lm`` drops decode.json's lexicon (it belonged to its LM).
    An LM without a beam width gets decode.json's width, or DEFAULT_BEAM.
    """
    base = None if greedy else load_decode_config(model_dir)
    cfg = base or DecodeConfig()
    changes: dict = {k: v for k, v in options.items() if v is not None}
    if lm is not None:
        changes.update(lm=lm, lexicon=lexicon or "")
    elif lexicon is not None:
        changes["lexicon"] = lexicon
    if lm_weight is not None:
        changes["lm_weight"] = lm_weight
    if word_score is not None:
        changes["word_score"] = word_score
    if beam is not None:
        changes["beam"] = beam
    elif (lm or lexicon) and not cfg.beam:
        changes["beam"] = DEFAULT_BEAM
    unknown = set(changes) - set(BEAM_OPTIONS)
    if unknown:
        raise ValueError(f"unknown decoding option(s) {sorted(unknown)}; known: {sorted(BEAM_OPTIONS)}")
    return replace(cfg, **changes)
