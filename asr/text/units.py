"""Output units of the CTC head. Index 0 is always the CTC blank.

A unit set is a list of symbols saved as ``tokens.txt`` (one symbol per line, line number = id),
so a model directory fully describes its outputs. ``<space>`` stands for the word separator.
"""

from __future__ import annotations

import os
from pathlib import Path

from asr.io import InputError, read_text

BLANK = "<blk>"
SPACE = "<space>"
CHARACTERS = [BLANK, SPACE, "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]


class CharTokenizer:
    """Characters ``a-z``, apostrophe and space, plus the CTC blank at id 0."""

    def __init__(self, symbols: list[str] | None = None):
        self.symbols = list(symbols or CHARACTERS)
        if self.symbols[0] != BLANK:
            raise ValueError(f"token 0 must be the blank {BLANK!r}, got {self.symbols[0]!r}")
        self._id = {s: i for i, s in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def blank_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        """Normalized text -> unit ids; raises ValueError on a character outside the set."""
        ids = []
        for ch in text:
            sym = SPACE if ch == " " else ch
            if sym not in self._id:
                raise ValueError(f"character {ch!r} in {text!r} is not in the unit set")
            ids.append(self._id[sym])
        return ids

    def decode(self, ids: list[int]) -> str:
        """Unit ids (blanks already removed) -> text."""
        return "".join(" " if self.symbols[i] == SPACE else self.symbols[i] for i in ids if i != 0).strip()

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text("\n".join(self.symbols) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> CharTokenizer:
        symbols = read_text(path).splitlines()
        if not symbols:  # never the built-in set in its place: the model's outputs would be misread
            raise InputError(f"{path}: empty (no units); copy the tokens.txt the model was trained with")
        try:
            return cls(symbols)
        except ValueError as e:
            raise InputError(f"{path}: {e}") from None
