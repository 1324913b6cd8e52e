"""Beam search over BPE units: lexicon-free, and with the word LM + lexicon that `asr lm` writes."""

import pytest
import torch

from asr.cli import main as asr_main
from asr.data.datadir import read_datadir
from asr.decode.beam import BeamSearchDecoder
from asr.decode.config import DecodeConfig
from asr.decode.lexicon import LexiconError
from asr.text.bpe import train_bpe


@pytest.fixture(scope="module")
def bpe_setup(tiny_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("beam_bpe")
    texts = list(read_datadir(tiny_corpus / "train").text.values())
    tok = train_bpe(texts, root / "bpe", vocab_size=80)
    assert asr_main(["lm", str(tiny_corpus / "train" / "text"), str(root / "word"), "--order", "2"]) == 0
    assert asr_main(["lm", str(tiny_corpus / "train" / "text"), str(root / "char"), "--order", "3",
                     "--unit", "char"]) == 0
    return tok, texts[:3], root


def emissions(tok, pieces_per_utt: list[list[int]], confusions: dict[tuple[int, int], int] | None = None):
    """Log-probs ``(B, T, V)`` of paths blank p1 blank p2 ... blank; ``confusions[(b, k)] = q`` gives
    piece ``k`` of utterance ``b`` an equally likely rival ``q``."""
    T = 2 * max(len(p) for p in pieces_per_utt) + 1
    logits = torch.zeros(len(pieces_per_utt), T, len(tok))
    logits[:, :, tok.blank_id] = 8.0
    for b, pieces in enumerate(pieces_per_utt):
        for k, p in enumerate(pieces):
            logits[b, 2 * k + 1, tok.blank_id] = 0.0
            logits[b, 2 * k + 1, p] = 8.0
            if confusions and (b, k) in confusions:
                logits[b, 2 * k + 1, confusions[(b, k)]] = 8.0
    lengths = torch.tensor([2 * len(p) + 1 for p in pieces_per_utt])
    return logits.log_softmax(-1), lengths


def test_bpe_beam_search_recovers_texts_with_and_without_the_word_lm(bpe_setup):
    tok, texts, root = bpe_setup
    lp, lens = emissions(tok, [tok.encode(t) for t in texts])
    for cfg in (DecodeConfig(beam=8), DecodeConfig(beam=8, lm=str(root / "word"), lm_weight=1.0, word_score=0.0)):
        dec = BeamSearchDecoder(tok, cfg)
        assert [tok.decode(ids) for ids in dec.decode(lp, lens)] == texts


def test_bpe_lexicon_keeps_words_in_the_vocabulary(bpe_setup):
    tok, texts, root = bpe_setup
    pieces = tok.encode(texts[0])
    lexicon = {line.split()[0] for line in (root / "word" / "lexicon.txt").read_text().splitlines()}
    # A rival for the first piece that makes the first word a non-word; lexicon-free search may take
    # either, the lexicon search must keep the real word.
    rival = next(q for q in range(2, len(tok)) if q != pieces[0]
                 and tok.decode([q] + pieces[1:]).split()[0] not in lexicon
                 and tok.symbols[q].startswith("\u2581"))
    lp, lens = emissions(tok, [pieces], {(0, 0): rival})
    dec = BeamSearchDecoder(tok, DecodeConfig(beam=16, lm=str(root / "word"), lm_weight=1.0, word_score=0.0))
    assert tok.decode(dec.decode(lp, lens)[0]) == texts[0]


def test_character_lm_needs_a_character_model(bpe_setup):
    tok, _, root = bpe_setup
    with pytest.raises(LexiconError, match="character LM; this model has BPE units"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lm=str(root / "char" / "lm.arpa")))
