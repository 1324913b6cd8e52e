"""Lexicons for lexicon-constrained beam search: each word spelled in the model's output units.

The format is torchaudio's ``ctc_decoder`` (flashlight's): one word per line, then its spelling as
space-separated tokens ending with the word separator ``|``::

    don't	d o n ' t |
    hello	h e l l o |

The decoder's token list names the model's ``<space>`` unit ``|`` (see :func:`decoder_tokens`), so
the separator that ends each spelling is the same unit the model emits between words.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from asr.decode.ngram_lm import BOS, EOS, UNK, WORD_SEP
from asr.text.units import SPACE


class LexiconError(ValueError):
    """A lexicon file is missing or malformed; the message names the file and line."""


def decoder_tokens(symbols: list[str]) -> list[str]:
    """The model's unit symbols as the decoder's token list: ``<space>`` becomes ``|``, ids unchanged."""
    if WORD_SEP in symbols:
        raise ValueError(f"the unit set already has a {WORD_SEP!r} unit; it cannot also name the word separator")
    return [WORD_SEP if s == SPACE else s for s in symbols]


def spell(word: str) -> list[str]:
    """A word as character tokens closed by the word separator: ``"it's" -> ['i', 't', "'", 's', '|']``."""
    return [*word, WORD_SEP]


def write_lexicon(words: Iterable[str], path: str | os.PathLike) -> Path:
    """Write the spelling of each word (sorted, LM specials left out) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keep = sorted(set(words) - {BOS, EOS, UNK})
    path.write_text("".join(f"{w}\t{' '.join(spell(w))}\n" for w in keep), encoding="utf-8")
    return path


def read_lexicon(path: str | os.PathLike, tokens: list[str]) -> dict[str, list[list[int]]]:
    """Word -> spellings, each a list of indices into ``tokens`` (the decoder's token list).

    Raises LexiconError naming the file, line, word and the token that is not a unit.
    """
    path = Path(path)
    if not path.is_file():
        raise LexiconError(f"{path}: no such lexicon file")
    unit = {t: i for i, t in enumerate(tokens)}
    index = unit.__getitem__
    out: dict[str, list[list[int]]] = {}
    # Read at once and mapped to ids in one pass: this is on the bundled model's load path (65k words).
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise LexiconError(f"{path}:{lineno}: word {fields[0]!r} has no spelling")
        try:
            spelling = list(map(index, fields[1:]))
        except KeyError as e:
            raise LexiconError(f"{path}:{lineno}: word {fields[0]!r} is spelled with {e.args[0]!r}, which is not a "
                               f"unit of the model (units: {' '.join(tokens)})") from None
        out.setdefault(fields[0], []).append(spelling)
    if not out:
        raise LexiconError(f"{path}: empty lexicon")
    return out
