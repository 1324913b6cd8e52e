"""CTC beam search with torchaudio's ``ctc_decoder`` (flashlight-text), optionally with a KenLM n-gram LM.

Three modes, chosen by what is given:

* ``beam`` only: lexicon-free prefix beam search over the units (no LM).
* ``beam`` + word LM + lexicon: words are spelled through a trie of the lexicon, each finished word
  scored ``lm_weight * log10 p_LM(word | history) + word_score`` (alpha, beta).
* ``beam`` + character LM (``asr lm --unit char``), no lexicon: lexicon-free, the LM scores every
  unit; ``word_score`` is then the bonus per word separator (flashlight's ``sil_score``).

The model's ``<space>`` unit is the decoder's ``|`` (asr.decode.lexicon.decoder_tokens), so an LM
directory from ``asr lm`` works unchanged. BPE models (no ``<space>`` unit: word starts are marked
inside the pieces, ``▁the``) get the separator as an extra token the model never emits (a log-prob
column of :data:`NEVER`), and the lexicon's words are re-spelled as the model's pieces (sentencepiece),
so the same word LM and lexicon serve both; a character LM needs a character model.
Loading the LM is the slow part: :meth:`with_weights` reuses it, which is what α/β tuning does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

import torch
from torchaudio.models.decoder import CTCDecoder

from asr.decode.config import DecodeConfig
from asr.decode.kenlm_binary import BINARY_NAME, is_kenlm_binary
from asr.decode.lexicon import LexiconError, decoder_tokens, read_lexicon
from asr.decode.ngram_lm import BOS, EOS, UNK, WORD_SEP, ArpaError, read_arpa, read_arpa_unigrams
from asr.text.units import SPACE

log = logging.getLogger(__name__)

# The files of an `asr lm` output directory; `asr tune-lm` copies an LM into a model directory under these names.
LM_DIR_ARPA, LM_DIR_LEXICON = "lm.arpa", "lexicon.txt"
NEVER = -1e5  # log-prob of the separator token that BPE models lack: never on a path


def lexicon_path_for(arpa: str | os.PathLike) -> Path:
    """Where ``asr lm`` puts the lexicon of an LM: ``DIR/lexicon.txt`` for ``DIR/lm.arpa`` (or its binary
    ``DIR/lm.bin``), else ``X.lexicon.txt``."""
    arpa = Path(arpa)
    if arpa.name in (LM_DIR_ARPA, BINARY_NAME):
        return arpa.parent / LM_DIR_LEXICON
    return arpa.with_suffix(".lexicon.txt")


def resolve_lm(lm: str, lexicon: str) -> tuple[Path | None, Path | None]:
    """``(LM file, lexicon)`` for ``--lm`` (an ARPA or KenLM binary file, or an ``asr lm`` directory) and ``--lexicon``.

    In a directory, ``lm.bin`` (asr.decode.kenlm_binary) is taken when it is not older than ``lm.arpa``.
    Without ``--lexicon``, a word LM's lexicon is the one ``asr lm`` wrote next to it.
    """
    arpa = None
    if lm:
        arpa = Path(lm)
        if arpa.is_dir():
            text, binary = arpa / LM_DIR_ARPA, arpa / BINARY_NAME
            arpa = binary if binary.is_file() and (
                not text.is_file() or binary.stat().st_mtime >= text.stat().st_mtime) else text
        if not arpa.is_file():
            raise ArpaError(f"{arpa}: no such language model file")
    lex = Path(lexicon) if lexicon else None
    if arpa is not None and lex is None and lexicon_path_for(arpa).is_file():
        lex = lexicon_path_for(arpa)
    return arpa, lex


@contextlib.contextmanager
def _quiet_stderr():
    """KenLM prints a progress bar to file descriptor 2 while loading; keep the terminal for our messages."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def load_kenlm(arpa: Path, words: list[str]):
    """A flashlight KenLM (ARPA or binary file) over ``words`` (index = position), with a clear error for a bad
    file."""
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    try:
        with _quiet_stderr():
            return KenLM(str(arpa), Dictionary(words))
    except RuntimeError as e:
        # KenLM names a C++ source line; our reader names the line of the ARPA file.
        if not is_kenlm_binary(arpa):
            read_arpa(arpa)
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise ArpaError(f"{arpa}: KenLM cannot load it: {reason}") from None


class BeamSearchDecoder:
    """``decode(log_probs (B, T, V), lengths (B,)) -> list[str]``; log-probs move to the CPU as float32."""

    def __init__(self, tokenizer, cfg: DecodeConfig, _loaded: dict | None = None):
        symbols = getattr(tokenizer, "symbols", None)
        self.bpe = symbols is not None and SPACE not in symbols and hasattr(tokenizer, "sp")
        if symbols is None or (SPACE not in symbols and not self.bpe):
            raise ValueError("beam search needs character units (with a <space> unit) or sentencepiece BPE units")
        self.tokenizer, self.cfg = tokenizer, cfg
        # BPE: the separator is an extra token after the model's units (decode() adds its NEVER column).
        self.tokens = decoder_tokens(symbols) + ([WORD_SEP] if self.bpe else [])
        self._loaded = _loaded if _loaded is not None else self._load()
        self._decoder = self._build()

    def _load(self) -> dict:
        """Read and check the LM and lexicon once, and build the lexicon trie the searches share:
        {"arpa", "lexicon", "lm" (KenLM, or ZeroLM without one), "words", "word_dict", "tokens_dict", "trie"}."""
        from flashlight.lib.text.decoder import ZeroLM
        from flashlight.lib.text.dictionary import Dictionary

        arpa, lex = resolve_lm(self.cfg.lm, self.cfg.lexicon)
        spellings: dict[str, list[list[int]]] | None = None  # word -> spellings in unit ids
        if lex is not None and self.bpe:
            # The lexicon spells words in characters (asr lm); spell them in this model's pieces instead.
            unit = {t: i for i, t in enumerate(self.tokens)}
            spellings = {w: [[unit[p] for p in self.tokenizer.sp.encode(w, out_type=str)]]
                         for w in sorted(_lexicon_words(lex))}
            words = list(spellings)
        elif lex is not None:
            spellings = read_lexicon(lex, self.tokens)  # LexiconError names the file:line of a bad spelling
            words = sorted(spellings)
        else:
            words = list(self.tokens)  # lexicon-free: the LM's words are the units, index = unit id
        loaded: dict = {"arpa": arpa, "lexicon": lex, "lm": None, "trie": None}
        binary = arpa is not None and is_kenlm_binary(arpa)
        if binary and lex is None:
            raise LexiconError(f"{arpa} is a KenLM binary LM: decoding with it needs its lexicon (--lexicon, or "
                               f"{lexicon_path_for(arpa)}); binary character LMs are not supported")
        if arpa is not None and not binary:
            unigrams = read_arpa_unigrams(arpa)
            if not unigrams:
                read_arpa(arpa)  # names the problem
                raise ArpaError(f"{arpa}: no 1-grams")
            is_char_lm = WORD_SEP in unigrams
            if lex is None and not is_char_lm:
                raise LexiconError(f"{arpa} is a word LM (e.g. {sorted(unigrams - {BOS, EOS, UNK})[:3]}); "
                                   f"decoding with it needs its lexicon (--lexicon, or {lexicon_path_for(arpa)})")
            if lex is not None and is_char_lm:
                raise LexiconError(f"{arpa} is a character LM (it has {WORD_SEP!r}); use it without a lexicon")
            if is_char_lm and self.bpe:
                raise LexiconError(f"{arpa} is a character LM; this model has BPE units: use a word LM + lexicon")
            if is_char_lm:
                strange = sorted(unigrams - set(self.tokens) - {BOS, EOS, UNK})
                if strange:
                    raise ArpaError(f"{arpa}: character LM has units the model lacks: {strange[:5]}")
        if lex is not None or arpa is not None:
            words = words + ([UNK] if UNK not in words else [])
        # Without an LM, words (lexicon) or units (lexicon-free) are scored only by word_score.
        loaded["lm"] = load_kenlm(arpa, words) if arpa is not None else ZeroLM()
        loaded["words"], loaded["word_dict"], loaded["tokens_dict"] = words, Dictionary(words), Dictionary(self.tokens)
        if spellings is not None:
            loaded["trie"] = self._trie(spellings, words, loaded["lm"])
        return loaded

    def _trie(self, spellings: dict[str, list[list[int]]], words: list[str], lm):
        """The lexicon's spellings as a trie of unit ids, each word's leaf holding its LM score after ``<s>``,
        smeared (max) towards the root, as torchaudio's ctc_decoder builds it, but once per LM: torchaudio
        rebuilds it for every decoder (seconds for a 65k-word lexicon: each α/β of tune-lm, each stream)."""
        from flashlight.lib.text.decoder import SmearingMode, Trie

        word_index = {w: i for i, w in enumerate(words)}
        trie = Trie(len(self.tokens), self.tokens.index(WORD_SEP))
        start, score, insert = lm.start(False), lm.score, trie.insert
        for word, spelled in spellings.items():
            index = word_index[word]
            word_score = score(start, index)[1]
            for spelling in spelled:
                insert(spelling, index, word_score)
        trie.smear(SmearingMode.MAX)
        return trie

    def _build(self):
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconDecoder,
            LexiconDecoderOptions,
            LexiconFreeDecoder,
            LexiconFreeDecoderOptions,
        )
        cfg, loaded = self.cfg, self._loaded
        blank, sil = self.tokenizer.blank_id, self.tokens.index(WORD_SEP)
        beam_size_token = cfg.beam_size_token or len(self.tokens)
        if loaded["trie"] is not None:
            options = LexiconDecoderOptions(
                beam_size=cfg.beam, beam_size_token=beam_size_token, beam_threshold=cfg.beam_threshold,
                lm_weight=cfg.lm_weight, word_score=cfg.word_score, unk_score=float("-inf"), sil_score=0.0,
                log_add=False, criterion_type=CriterionType.CTC)
            search = LexiconDecoder(options, loaded["trie"], loaded["lm"], sil, blank,
                                    loaded["word_dict"].get_index(UNK), [], False)
        else:
            # Lexicon-free decoding has no per-word score; the word separator's score plays its part.
            options = LexiconFreeDecoderOptions(
                beam_size=cfg.beam, beam_size_token=beam_size_token, beam_threshold=cfg.beam_threshold,
                lm_weight=cfg.lm_weight, sil_score=cfg.word_score, log_add=False, criterion_type=CriterionType.CTC)
            search = LexiconFreeDecoder(options, loaded["lm"], sil, blank, [])
        return _PrebuiltCTCDecoder(search, loaded, blank)

    def with_weights(self, lm_weight: float, word_score: float) -> BeamSearchDecoder:
        """The same decoder with other α/β; the loaded LM and lexicon are shared."""
        return BeamSearchDecoder(self.tokenizer, replace(self.cfg, lm_weight=lm_weight, word_score=word_score),
                                 self._loaded)

    @property
    def name(self) -> str:
        return self.cfg.name

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        """Unit ids of the best hypothesis per utterance (with a lexicon: the spelling of its words)."""
        emissions = log_probs.detach().float().cpu()
        lengths = lengths.cpu()
        if self.bpe:
            emissions = torch.cat([emissions, emissions.new_full((*emissions.shape[:2], 1), NEVER)], dim=-1)
        elif self._loaded["lexicon"] is not None:
            emissions, lengths = self._close_last_word(emissions, lengths)
        emissions = emissions.contiguous()
        results = self._decoder(emissions, lengths)
        out = []
        for hyps in results:
            if not hyps:
                out.append([])
            elif self._loaded["lexicon"] is not None:
                # The words are the result; their spelling (not the frame path) is what text and timing use.
                out.append(self.tokenizer.encode(" ".join(hyps[0].words)))
            else:
                out.append(self._clean(hyps[0].tokens.tolist()))
        return out

    def stream(self) -> BeamStream:
        """An incremental search over log-probs that arrive in pieces (asr.stream): its own copy of
        the search (the LM and lexicon are shared), so several streams can run at once."""
        if self.bpe:
            raise ValueError("streaming beam search supports character units (BPE: use greedy)")
        return BeamStream(BeamSearchDecoder(self.tokenizer, self.cfg, self._loaded))

    def _close_last_word(self, emissions: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, V)`` log-probs with one frame appended to each utterance where only blank and ``|`` may be.

        A character lexicon spells each word with the separator at its end (``cage c a g e |``), and the
        decoder only emits a word once its ``|`` is read; at the end of the input it keeps the hypotheses
        that have emitted all their words, if there are any. The model never learned a separator after
        the last word (its targets have none), so the last word of most utterances was dropped, or
        swapped for a word that the model's space happened to close: a free ``|`` frame lets it end.
        """
        b, t, v = emissions.shape
        out = torch.cat([emissions, emissions.new_full((b, 1, v), NEVER)], dim=1)
        out[torch.arange(b), lengths] = self.close_frame()
        return out, lengths + 1

    def close_frame(self) -> torch.Tensor:
        """The log-probs ``(V,)`` of the frame that ends the last word: only blank and ``|`` are possible."""
        frame = torch.full((len(self.tokens),), NEVER)
        frame[self.tokenizer.blank_id] = 0.0
        frame[self.tokens.index(WORD_SEP)] = 0.0
        return frame

    def _clean(self, ids: list[int]) -> list[int]:
        """Lexicon-free paths may start or end with the separator, or repeat it (blank between): drop those."""
        if self.bpe:
            return [i for i in ids if i != self.tokenizer.blank_id and i < len(self.tokenizer.symbols)]
        space = self.tokenizer.symbols.index(SPACE)
        out: list[int] = []
        for i in ids:
            if i == self.tokenizer.blank_id or (i == space and (not out or out[-1] == space)):
                continue
            out.append(i)
        while out and out[-1] == space:
            out.pop()
        return out


class BeamStream:
    """ctc_decoder's ``decode_begin`` / ``decode_step`` / ``decode_end`` over one stream.

    ``step(log_probs (n, V))`` extends the search; :meth:`hypotheses` gives the best hypothesis so far and
    the words every hypothesis in the beam agrees on (they can no longer change);
    :meth:`end` closes the last word and returns the final unit ids, after which ``step`` starts anew.
    """

    def __init__(self, parent: BeamSearchDecoder):
        self.parent = parent
        self.search = parent._decoder
        self.steps = 0

    def step(self, log_probs: torch.Tensor) -> None:
        if log_probs.shape[0] == 0:
            return
        if self.steps == 0:
            self.search.decode_begin()
        self.search.decode_step(log_probs.detach().float().cpu().contiguous())
        self.steps += log_probs.shape[0]

    def _ids(self, words: list[str], tokens: torch.Tensor) -> list[int]:
        if self.parent._loaded["lexicon"] is not None:
            return self.parent.tokenizer.encode(" ".join(words)) if words else []
        return self.parent._clean(tokens.tolist())

    def hypotheses(self) -> tuple[list[int], list[int]]:
        """``(unit ids of the best hypothesis so far, unit ids of the words that begin every hypothesis of the
        beam)``; the second is empty without a lexicon. One pass over the beam (it holds up to ``beam`` paths,
        so only the best is converted to text)."""
        if not self.steps:
            return [], []
        results = self.search.decoder.get_all_final_hypothesis()
        if not results:
            return [], []
        best = self.search._to_hypo([max(results, key=lambda r: r.score)])[0]
        partial = self._ids(best.words, best.tokens)
        if self.parent._loaded["lexicon"] is None:
            return partial, []
        common = [w for w in results[0].words if w >= 0]
        for r in results[1:]:
            words = [w for w in r.words if w >= 0]
            n = 0
            while n < min(len(common), len(words)) and common[n] == words[n]:
                n += 1
            common = common[:n]
            if not common:
                break
        stable = [self.search.word_dict.get_entry(w) for w in common]
        return partial, self._ids(stable, torch.zeros(0, dtype=torch.long))

    def end(self) -> list[int]:
        """Finish the utterance (or segment): the best hypothesis' unit ids; the next ``step`` begins anew."""
        if not self.steps:
            return []
        if self.parent._loaded["lexicon"] is not None:  # a free separator frame ends the last word
            self.search.decode_step(self.parent.close_frame().unsqueeze(0))
        self.search.decode_end()
        hyps = self.search.get_final_hypothesis()
        self.steps = 0
        return self._ids(hyps[0].words, hyps[0].tokens) if hyps else []


class _PrebuiltCTCDecoder(CTCDecoder):
    """torchaudio's CTCDecoder (``__call__``, ``decode_begin``/``decode_step``, its hypotheses) over a
    flashlight search built by :meth:`BeamSearchDecoder._build`: its own ``__init__`` would build the
    lexicon trie again. It holds what the search points into (LM, trie), so they outlive it."""

    def __init__(self, search, loaded: dict, blank: int):  # no super().__init__(): see above
        self.nbest, self.decoder, self.blank = 1, search, blank
        self.word_dict, self.tokens_dict = loaded["word_dict"], loaded["tokens_dict"]
        self.lm, self._keep = loaded["lm"], loaded


def _lexicon_words(path: str | os.PathLike) -> set[str]:
    """The words (first fields) of a lexicon file."""
    path = Path(path)
    if not path.is_file():
        raise LexiconError(f"{path}: no such lexicon file")
    words = {line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    if not words:
        raise LexiconError(f"{path}: empty lexicon")
    return words
