"""One place that decides which unit set (characters or BPE pieces) a model uses.

A *unit directory* (the output of ``asr tokenizer``, and every model directory) holds
``tokens.txt`` and, for BPE, ``bpe.model``. :func:`load_tokenizer` reads one back;
:func:`build_tokenizer` is what training calls with its ``units`` / ``tokenizer_dir`` settings.

    asr tokenizer --type bpe --vocab-size 500 data/librispeech/train data/librispeech/lang_bpe_500
    asr tokenizer --type char data/librispeech/train data/librispeech/lang_char
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from asr.io import check_text_file, utf8_lines
from asr.text.bpe import BPE_MODEL, BPETokenizer, train_bpe
from asr.text.normalize import normalize_text
from asr.text.units import CHARACTERS, CharTokenizer

log = logging.getLogger(__name__)

TOKENS = "tokens.txt"
UNIT_TYPES = ("char", "bpe")
Tokenizer = CharTokenizer | BPETokenizer


def load_tokenizer(directory: str | os.PathLike) -> Tokenizer:
    """The unit set of a unit or model directory: BPE when ``bpe.model`` is there, else characters."""
    d = Path(directory)
    if not (d / TOKENS).is_file():
        raise FileNotFoundError(f"{d}: no {TOKENS} (not a unit or model directory)")
    if (d / BPE_MODEL).is_file():
        return BPETokenizer.load(d / TOKENS)
    return CharTokenizer.load(d / TOKENS)


def build_tokenizer(units: str = "char", tokenizer_dir: str | os.PathLike = "") -> Tokenizer:
    """The unit set training uses: ``units`` is ``char`` or ``bpe``; ``tokenizer_dir`` an ``asr tokenizer`` output.

    ``char`` without a directory is the built-in ``<blk> <space> ' a-z`` set. ``bpe`` needs a directory.
    """
    if units not in UNIT_TYPES:
        raise ValueError(f"units must be one of {UNIT_TYPES}, got {units!r}")
    if not tokenizer_dir:
        if units == "bpe":
            raise ValueError("units=bpe needs tokenizer_dir (make one with `asr tokenizer --type bpe`)")
        return CharTokenizer()
    tok = load_tokenizer(tokenizer_dir)
    kind = "bpe" if isinstance(tok, BPETokenizer) else "char"
    if kind != units:
        raise ValueError(f"units={units} but {tokenizer_dir} holds a {kind} unit set")
    return tok


def char_units(texts: list[str] | Iterator[str]) -> list[str]:
    """The built-in character set plus any other character seen in ``texts`` (sorted), blank first."""
    seen = {c for t in texts for c in t if c != " "}
    return CHARACTERS + sorted(seen - set(CHARACTERS))


def read_training_text(path: str | os.PathLike, normalized: bool = False) -> Iterator[str]:
    """Normalized sentences from a data directory (its ``text``, ids dropped) or a plain text file.

    A file named ``text`` next to a ``wav.scp`` is read as a data directory's transcripts too.
    ``normalized``: the text is normalized already; only its whitespace is tidied.
    """
    p = Path(path)
    has_ids = p.is_dir() or (p.name == "text" and (p.parent / "wav.scp").is_file())
    p = checked_text_file(p)
    for _, line in utf8_lines(p):
        if has_ids:
            parts = line.split(maxsplit=1)
            line = parts[1] if len(parts) > 1 else ""
        text = " ".join(line.split()) if normalized else normalize_text(line)
        if text:
            yield text


def checked_text_file(path: Path) -> Path:
    """The text file of ``path`` (a data directory's ``text``, or ``path`` itself), refused if it is not text:
    a PNG or a wav read as text would make units or an LM of garbage."""
    p = path / "text" if path.is_dir() else path
    check_text_file(p)
    return p


def train_tokenizer(text_path: str | os.PathLike, out_dir: str | os.PathLike, units: str = "bpe",
                    vocab_size: int = 500) -> Tokenizer:
    """Build a unit directory from training text (see :func:`read_training_text`)."""
    checked_text_file(Path(text_path))  # before the output directory is made
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if units == "bpe":
        return train_bpe(read_training_text(text_path), out, vocab_size)
    if units != "char":
        raise ValueError(f"units must be one of {UNIT_TYPES}, got {units!r}")
    (out / BPE_MODEL).unlink(missing_ok=True)  # a leftover would make load_tokenizer read BPE
    tok = CharTokenizer(char_units(read_training_text(text_path)))
    tok.save(out / TOKENS)
    return tok
