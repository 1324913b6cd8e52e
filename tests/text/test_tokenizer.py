"""BPE and character unit sets: id 0 is the CTC blank, round trips, the factory, model directories."""

from __future__ import annotations

import pytest
import torch
from corpus_layouts import SENTENCES

from asr.cli import main as asr_main
from asr.features.logmel import FeatureConfig
from asr.model.ctc_model import CTCModel
from asr.model.encoder import ModelConfig
from asr.model.model_dir import load_model_dir, save_model_dir
from asr.text.bpe import BPE_MODEL, BPETokenizer
from asr.text.tokenizer import build_tokenizer, load_tokenizer, train_tokenizer
from asr.text.units import BLANK, CHARACTERS, CharTokenizer


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lang")
    # A data dir's transcripts: ids are dropped, text is normalized (upper case, punctuation).
    (d / "data").mkdir()
    (d / "data" / "wav.scp").write_text("")
    (d / "data" / "text").write_text("".join(f"u{i:02d} {s.upper()}!\n" for i, s in enumerate(SENTENCES * 3)))
    assert asr_main(["tokenizer", "--type", "bpe", "--vocab-size", "60", str(d / "data"), str(d / "bpe")]) == 0
    return d / "bpe"


def test_bpe_blank_is_zero_and_round_trips(bpe_dir):
    tok = load_tokenizer(bpe_dir)
    assert isinstance(tok, BPETokenizer) and tok.blank_id == 0
    assert tok.symbols[:2] == [BLANK, "<unk>"] and len(tok) == 60
    assert (bpe_dir / "tokens.txt").read_text().splitlines() == tok.symbols
    for text in SENTENCES + ["zebras quizzically jump", "don't"]:  # unseen letters still encode
        ids = tok.encode(text)
        assert 0 not in ids and tok.decode(ids) == text
    assert tok.decode([0] + tok.encode("the ship") + [0, 1]) == "the ship"
    with pytest.raises(ValueError, match="outside the BPE unit set"):
        tok.encode("caf\u00e9")  # not normalized


def test_char_units_and_factory(tmp_path, bpe_dir):
    tok = train_tokenizer(bpe_dir / "tokens.txt", tmp_path / "char", units="char")
    assert tok.symbols == CHARACTERS and isinstance(load_tokenizer(tmp_path / "char"), CharTokenizer)
    assert isinstance(build_tokenizer("char"), CharTokenizer)
    assert isinstance(build_tokenizer("bpe", bpe_dir), BPETokenizer)
    with pytest.raises(ValueError, match="needs tokenizer_dir"):
        build_tokenizer("bpe")
    with pytest.raises(ValueError, match="holds a bpe unit set"):
        build_tokenizer("char", bpe_dir)
    with pytest.raises(ValueError, match="at least|below"):
        train_tokenizer(bpe_dir / "tokens.txt", tmp_path / "small", units="bpe", vocab_size=20)


def test_stale_tokens_file_is_refused(tmp_path, bpe_dir):
    (tmp_path / BPE_MODEL).write_bytes((bpe_dir / BPE_MODEL).read_bytes())
    (tmp_path / "tokens.txt").write_text("\n".join(CHARACTERS) + "\n")
    with pytest.raises(ValueError, match="does not list the pieces"):
        load_tokenizer(tmp_path)


def test_model_dir_carries_bpe(tmp_path, bpe_dir):
    tok = load_tokenizer(bpe_dir)
    model = CTCModel(ModelConfig(hidden_size=16, num_layers=1, vocab_size=len(tok))).eval()
    save_model_dir(tmp_path / "model", model, FeatureConfig(), tok)
    loaded, _, tok2, _ = load_model_dir(tmp_path / "model")
    assert isinstance(tok2, BPETokenizer) and tok2.symbols == tok.symbols
    x = torch.randn(1, 50, 80)
    torch.testing.assert_close(loaded(x, torch.tensor([50]))[0], model(x, torch.tensor([50]))[0])
    # Saving a character model over it must not leave the sentencepiece model behind.
    save_model_dir(tmp_path / "model", CTCModel(ModelConfig(hidden_size=16, num_layers=1, vocab_size=29)),
                   FeatureConfig(), CharTokenizer())
    assert isinstance(load_model_dir(tmp_path / "model")[2], CharTokenizer)
