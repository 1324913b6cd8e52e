"""Which search turns CTC log-probs into units, and the model directory's tuned choice (``decode.json``).

A decoder has a ``name`` and ``decode(log_probs (B, T, V), lengths (B,)) -> list[list[int]]`` (unit
ids, blanks removed; ``tokenizer.decode`` makes text), the protocol of asr.transcribe.decoding.
Greedy is the default; beam search (asr.decode.beam) is used when asked for, or when the model
directory has a ``decode.json`` (written by ``asr tune-lm``) and ``asr decode`` is not told ``--greedy``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Protocol

import torch

from asr.decode.greedy import greedy_decode

log = logging.getLogger(__name__)

DECODE_JSON = "decode.json"
DEFAULT_BEAM = 50


class Decoder(Protocol):
    name: str

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        """``log_probs (B, T, V)`` (any device), ``lengths (B,)`` -> unit ids per utterance."""
        ...


@dataclass
class DecodeConfig:
    """How to turn CTC log-probs into words. ``beam == 0`` is greedy (and then no LM)."""

    beam: int = 0
    lm: str = ""  # ARPA file, or an `asr lm` output directory (lm.arpa + lexicon.txt)
    lexicon: str = ""  # word spellings; default: the one `asr lm` wrote next to the LM (word LMs)
    lm_weight: float = 1.0  # alpha: weight of the LM's log10 probability
    word_score: float = 0.0  # beta: bonus per word (lexicon-free: per word separator)
    beam_threshold: float = 25.0  # prune hypotheses this far (ln) below the best
    beam_size_token: int = 0  # units tried per frame (0: all)

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


class GreedyDecoder:
    """Best path; argmax and repeat merging run batched on the log-probs' device."""

    name = "greedy"

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        return greedy_decode(log_probs, lengths)


def build_decoder(cfg: DecodeConfig, tokenizer) -> Decoder:
    if cfg.beam == 0:
        return GreedyDecoder()
    from asr.decode.beam import BeamSearchDecoder  # imports flashlight only when needed

    return BeamSearchDecoder(tokenizer, cfg)


# ------------------------------------------------------------------------------------ decode.json


def weights_digest(model_dir: str | os.PathLike) -> str:
    """A short hash of the model weights, to notice a decode.json tuned for older weights."""
    h = hashlib.sha256()
    with open(Path(model_dir) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


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
    path = d / DECODE_JSON
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def load_decode_config(model_dir: str | os.PathLike) -> DecodeConfig | None:
    """The model directory's tuned decoding setup, or None when it has no decode.json."""
    d = Path(model_dir)
    path = d / DECODE_JSON
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    known = {f.name for f in fields(DecodeConfig)}
    cfg = DecodeConfig(**{k: v for k, v in data.items() if k in known})
    for key in ("lm", "lexicon"):
        value = getattr(cfg, key)
        if value and not Path(value).is_absolute():
            setattr(cfg, key, str(d / value))
    if data.get("weights_sha256") and (d / "model.safetensors").is_file() and \
            data["weights_sha256"] != weights_digest(d):
        log.warning("%s was tuned for other weights of this model (retrained since?); rerun `asr tune-lm`", path)
    return cfg


def resolve_decode_config(model_dir: str | os.PathLike, beam: int | None = None, lm: str | None = None,
                          lexicon: str | None = None, lm_weight: float | None = None,
                          word_score: float | None = None, greedy: bool = False, **options) -> DecodeConfig:
    """The options given, on top of the model's decode.json (if any), on top of the defaults.

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
    known = {f.name for f in fields(DecodeConfig)}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown decoding option(s) {sorted(unknown)}; known: {sorted(known)}")
    return replace(cfg, **changes)
