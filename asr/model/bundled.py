"""The model shipped inside the package, and which model directory a command means.

``asr/model/bundled_model/`` is package data (it travels in the wheel): a model directory whose
weights are fp16 and whose LM and lexicon are gzipped (``lm.bin.gz``: KenLM's binary form, or
``lm.arpa.gz``; ``lexicon.txt.gz``) to keep the package small. The decoder (KenLM, flashlight) reads
plain files, so on first use they are written, uncompressed, to a cache directory, beside links to the
other files::

    $ASR_CACHE_DIR (default $XDG_CACHE_HOME/asr, else ~/.cache/asr)/bundled-<key>/

The key hashes the weights and the gzipped files: a new release, or the same weights with another LM, gets
another cache entry. The entry is built in a temporary directory
and renamed into place, so an interrupted first use leaves nothing half-written.
``recipes/synth/release.sh`` makes the bundle (``asr bundle``), its card is ``bundled_model/README.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from asr.io import file_sha256
from asr.model.layout import CONFIG_JSON, TOKENS, WEIGHTS

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled_model"
# The streaming model (an LC-BLSTM, recipes/synth/stream.sh), bundled the same way: `asr transcribe --stream`,
# and the live captions of `asr serve`, without -m.
BUNDLED_STREAM_DIR = Path(__file__).resolve().parent / "bundled_stream"
CARD_JSON = "card.json"  # the card's figures, machine-readable (asr models)
CARD_README = "README.md"
GZ = ".gz"


def cache_root() -> Path:
    if os.environ.get("ASR_CACHE_DIR"):
        return Path(os.environ["ASR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "asr"


def has_bundled_model() -> bool:
    return all((BUNDLED_DIR / f).is_file() for f in (CONFIG_JSON, WEIGHTS, TOKENS))


def bundled_card() -> dict:
    """The bundled model's card figures (``card.json``); empty when the package has no model."""
    path = BUNDLED_DIR / CARD_JSON
    return json.loads(path.read_text()) if path.is_file() else {}


def bundled_model_dir(source: str | os.PathLike = BUNDLED_DIR) -> Path:
    """A plain model directory of the bundle ``source``: ``source`` itself when nothing in it is
    gzipped, else its cache entry (made on first use)."""
    src = Path(source).resolve()  # the cache links to these files: absolute targets
    if not all((src / f).is_file() for f in (CONFIG_JSON, WEIGHTS, TOKENS)):
        raise FileNotFoundError(f"{src}: no bundled model in this installation (missing {WEIGHTS}, {CONFIG_JSON} "
                                f"or {TOKENS}); give a model directory with -m/--model")
    packed = sorted(p for p in src.iterdir() if p.name.endswith(GZ))
    if not packed:
        return src
    entry = cache_root() / f"bundled-{_bundle_key(src / WEIGHTS, packed)}"

    def unpacked() -> bool:
        # Each gzipped file unpacked, each other file a link to this bundle's own: an entry made from another copy
        # of the same weights (an installation since moved or removed: dangling links) is made again.
        return all((entry / p.name[: -len(GZ)]).is_file() if p.name.endswith(GZ)
                   else (entry / p.name).is_symlink() and (entry / p.name).resolve() == p.resolve()
                   for p in src.iterdir() if p.is_file())

    if unpacked():
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        for p in src.iterdir():
            if p.name.endswith(GZ):
                with gzip.open(p, "rb") as fin, open(tmp / p.name[: -len(GZ)], "wb") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
            elif p.is_file():
                (tmp / p.name).symlink_to(p)
        shutil.rmtree(entry, ignore_errors=True)  # an incomplete entry from an older version
        os.replace(tmp, entry)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if unpacked():  # another process made it meanwhile
            return entry
        raise OSError(f"{entry}: cannot unpack the bundled model's LM there ({e}); set ASR_CACHE_DIR to a "
                      "writable directory") from e
    return entry


def _bundle_key(weights: Path, packed: list[Path]) -> str:
    """What a cache entry is made of: the weights and each gzipped file, by content (~15 ms for a 15 MB bundle)."""
    parts = [file_sha256(weights)] + [f"{p.name}:{file_sha256(p)}" for p in packed]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def resolve_model_dir(model_dir: str | os.PathLike | None) -> Path:
    """The model directory a command was given (a bundle, such as a copy of the shipped model, is unpacked),
    or the bundled model's when none was."""
    if model_dir is None or str(model_dir) == "":
        return bundled_model_dir()
    d = Path(model_dir)
    if d.is_dir() and any(p.name.endswith(GZ) for p in d.iterdir()):
        return bundled_model_dir(d)
    return d


def has_bundled_stream_model() -> bool:
    return all((BUNDLED_STREAM_DIR / f).is_file() for f in (CONFIG_JSON, WEIGHTS, TOKENS))


def resolve_stream_model_dir(model_dir: str | os.PathLike | None) -> Path:
    """As :func:`resolve_model_dir`, but no model means the streaming model shipped in the package."""
    if model_dir is None or str(model_dir) == "":
        if not has_bundled_stream_model():
            raise FileNotFoundError("no streaming model ships with this installation: give one with -m/--model "
                                    "(recipes/synth/stream.sh trains one)")
        return bundled_model_dir(BUNDLED_STREAM_DIR)
    return resolve_model_dir(model_dir)


def is_model_dir(path: str | os.PathLike) -> bool:
    """True for a directory with a model's config.json (to tell ``asr transcribe MODEL FILE`` from ``FILE...``)."""
    return Path(path).is_dir() and (Path(path) / CONFIG_JSON).is_file()
