"""Byte-pair-encoding units from sentencepiece, with the CTC blank at id 0.

The sentencepiece model is trained so that its piece 0 is ``<blk>`` (declared as the *pad*
piece, a control symbol that ``encode`` never emits) and piece 1 is ``<unk>``; there is no
BOS/EOS. So sentencepiece ids *are* the CTC output ids: no shifting anywhere, and
``tokens.txt`` (piece per line, line number = id) lists exactly the model's pieces.

A BPE unit set on disk is two files in one directory: ``bpe.model`` (sentencepiece) and
``tokens.txt`` (the same pieces, readable, and what every unit set has).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from asr.io import atomic_path, atomic_write_bytes
from asr.text.units import BLANK

BPE_MODEL = "bpe.model"
UNK = "<unk>"
# Every normalized character is made a piece even if the training text lacks it, so a test
# transcript can never fall outside the unit set (normalize_text's alphabet is [a-z' ]).
REQUIRED_CHARS = "abcdefghijklmnopqrstuvwxyz'"


class BPETokenizer:
    """Sentencepiece BPE pieces; id 0 = CTC blank ``<blk>``, id 1 = ``<unk>``. Same interface as CharTokenizer."""

    def __init__(self, model_path: str | os.PathLike):
        import sentencepiece as spm

        self.model_path = Path(model_path)
        self.sp = spm.SentencePieceProcessor(model_file=str(self.model_path))
        if self.sp.id_to_piece(0) != BLANK or self.sp.pad_id() != 0:
            raise ValueError(f"{self.model_path}: piece 0 must be the blank {BLANK!r} (the pad piece); "
                             f"train it with `asr tokenizer --type bpe`")
        self.symbols = [self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())]
        self.unk_id = self.sp.unk_id()

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def blank_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        """Normalized text -> piece ids; raises ValueError when a character maps to ``<unk>``."""
        ids = self.sp.encode(text, out_type=int)
        if self.unk_id in ids:
            raise ValueError(f"{text!r} contains a character outside the BPE unit set ({self.model_path})")
        return ids

    def decode(self, ids: list[int]) -> str:
        """Piece ids (blanks already removed) -> text. Blank and ``<unk>`` are dropped: ``<unk>`` is never a
        training target, so a model emitting it says nothing (sentencepiece would print it as " ⁇ ")."""
        return self.sp.decode([i for i in ids if i != 0 and i != self.unk_id]).strip()

    def save(self, path: str | os.PathLike) -> None:
        """Write ``tokens.txt`` at ``path`` and ``bpe.model`` next to it."""
        path = Path(path)
        path.write_text("\n".join(self.symbols) + "\n", encoding="utf-8")
        target = path.with_name(BPE_MODEL)
        if not target.exists() or not os.path.samefile(target, self.model_path):
            with atomic_path(target) as tmp:
                shutil.copyfile(self.model_path, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BPETokenizer:
        """Load from ``tokens.txt`` (with ``bpe.model`` beside it) and check that the two agree."""
        path = Path(path)
        tok = cls(path.with_name(BPE_MODEL))
        listed = path.read_text(encoding="utf-8").splitlines()
        if listed != tok.symbols:
            raise ValueError(f"{path} does not list the pieces of {tok.model_path} (stale copy?)")
        return tok


def train_bpe(texts: Iterable[str], out_dir: str | os.PathLike, vocab_size: int,
              max_sentences: int = 2_000_000, num_threads: int = 2) -> BPETokenizer:
    """Train a BPE model on normalized ``texts``; write ``out_dir/{bpe.model,tokens.txt}``.

    ``vocab_size`` counts ``<blk>`` and ``<unk>``. On little text sentencepiece stops early with
    fewer pieces (``hard_vocab_limit=False``) instead of failing.
    """
    import sentencepiece as spm

    if vocab_size < len(REQUIRED_CHARS) + 3:
        raise ValueError(f"BPE vocab size {vocab_size} is below the {len(REQUIRED_CHARS)} characters + "
                         f"<blk>, <unk> and the word marker it must hold; use --type char for characters")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(t for t in texts if t), model_writer=proto, model_type="bpe",
        vocab_size=vocab_size, pad_id=0, pad_piece=BLANK, unk_id=1, unk_piece=UNK, bos_id=-1, eos_id=-1,
        character_coverage=1.0, required_chars=REQUIRED_CHARS,
        # Text is already normalized by asr.text.normalize; sentencepiece must not change it again.
        normalization_rule_name="identity", hard_vocab_limit=False,
        input_sentence_size=max_sentences, shuffle_input_sentence=True, num_threads=num_threads,
        minloglevel=2)
    atomic_write_bytes(out / BPE_MODEL, proto.getvalue())
    tok = BPETokenizer(out / BPE_MODEL)
    tok.save(out / "tokens.txt")
    return tok
