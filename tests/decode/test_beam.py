"""Beam search (torchaudio ctc_decoder) with and without LMs, tuning, and decode.json, on the overfit model."""

import json

import pytest
import torch

from asr.cli import main as asr_main
from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.decode.beam import BeamSearchDecoder, resolve_lm
from asr.decode.config import DecodeConfig, load_decode_config, resolve_decode_config
from asr.decode.decoder import GreedyDecoder, build_decoder, make_decoder
from asr.decode.kenlm_binary import find_build_binary, is_kenlm_binary
from asr.decode.lexicon import LexiconError, read_lexicon
from asr.decode.ngram_lm import ArpaError
from asr.model.runtime import ModelRuntime


@pytest.fixture(scope="module")
def setup(overfit_run, tmp_path_factory):
    """The overfit model's log-probs of its 4 utterances, and word + character LMs of their text."""
    root = tmp_path_factory.mktemp("beam")
    rec = ModelRuntime(overfit_run["model_dir"], device="cpu")
    dd = read_datadir(overfit_run["data"])
    log_probs, lengths = rec.log_probs([load_audio(dd.audio_path(u)) for u in dd.utt_ids])
    refs = [dd.text[u] for u in dd.utt_ids]
    assert asr_main(["lm", str(overfit_run["data"] / "text"), str(root / "word"), "--order", "3"]) == 0
    assert asr_main(["lm", str(overfit_run["data"] / "text"), str(root / "char"), "--order", "5",
                     "--unit", "char"]) == 0
    return {"rec": rec, "lp": log_probs, "lens": lengths, "refs": refs, "root": root, "data": overfit_run["data"],
            "model_dir": overfit_run["model_dir"]}


def texts(rec, decoder, lp, lens):
    return [rec.tokenizer.decode(ids) for ids in decoder.decode(lp, lens)]


@pytest.mark.parametrize("cfg", [
    {"beam": 8},  # lexicon-free, no LM
    {"beam": 8, "lm": "word", "lm_weight": 1.0, "word_score": 0.5},  # lexicon + word LM (lexicon found in the dir)
    {"beam": 8, "lm": "char", "lm_weight": 0.5},  # lexicon-free + character LM
])
def test_beam_search_modes_recover_the_memorized_texts(setup, cfg):
    cfg = dict(cfg)
    if "lm" in cfg:
        cfg["lm"] = str(setup["root"] / cfg["lm"])
    dec = BeamSearchDecoder(setup["rec"].tokenizer, DecodeConfig(**cfg))
    assert texts(setup["rec"], dec, setup["lp"], setup["lens"]) == setup["refs"]
    assert texts(setup["rec"], GreedyDecoder(), setup["lp"], setup["lens"]) == setup["refs"]


@pytest.mark.parametrize("mode", ["word", "char", "lexicon"])
def test_prebuilt_search_equals_torchaudios_ctc_decoder(setup, mode, tmp_path):
    """The search built once from the loaded LM and trie scores every hypothesis as torchaudio's factory does."""
    from torchaudio.models.decoder import ctc_decoder

    from asr.decode.beam import LM_DIR_ARPA, LM_DIR_LEXICON
    from asr.decode.lexicon import decoder_tokens

    tok = setup["rec"].tokenizer
    lm_dir = setup["root"] / ("char" if mode == "char" else "word")
    cfg = {"word": DecodeConfig(beam=16, lm=str(lm_dir), lm_weight=1.5, word_score=-0.5),
           "char": DecodeConfig(beam=16, lm=str(lm_dir), lm_weight=0.5, word_score=0.3),
           "lexicon": DecodeConfig(beam=16, lexicon=str(lm_dir / LM_DIR_LEXICON), word_score=0.2)}[mode]
    ours = BeamSearchDecoder(tok, cfg)
    words_file = tmp_path / "words.txt"
    words_file.write_text("".join(w + "\n" for w in ours._loaded["words"]))
    lexicon = None if mode == "char" else str(lm_dir / LM_DIR_LEXICON)
    tokens = decoder_tokens(tok.symbols)
    theirs = ctc_decoder(lexicon=lexicon, tokens=tokens, nbest=3,
                         lm=None if mode == "lexicon" else str(lm_dir / LM_DIR_ARPA),
                         lm_dict=None if mode == "lexicon" else str(words_file), beam_size=16,
                         lm_weight=cfg.lm_weight, word_score=cfg.word_score,
                         sil_score=0.0 if lexicon else cfg.word_score, blank_token=tokens[tok.blank_id],
                         sil_token="|", unk_word="<unk>")
    # Flattened log-probs (a less certain model) give the search real choices to make.
    lp = torch.log_softmax(setup["lp"] / 4, dim=-1)
    ours._decoder.nbest = 3
    for a, b in zip(ours._decoder(lp, setup["lens"]), theirs(lp, setup["lens"]), strict=True):
        assert [h.words for h in a] == [h.words for h in b]
        assert [h.tokens.tolist() for h in a] == [h.tokens.tolist() for h in b]
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4)


@pytest.mark.skipif(find_build_binary() is None, reason="KenLM's build_binary is not installed "
                    "(recipes/tools/install_kenlm.sh; .ci/run installs it)")
def test_kenlm_binary_lm_decodes_as_its_arpa(setup, tmp_path, capsys):
    """`asr lm --binary` writes lm.bin beside lm.arpa; the directory then means the binary, with the same search."""
    tok = setup["rec"].tokenizer
    text = setup["data"] / "text"
    assert asr_main(["lm", str(text), str(tmp_path / "lm"), "--order", "3", "--binary"]) == 0
    assert "lm.bin: KenLM binary" in capsys.readouterr().out
    arpa, binary = tmp_path / "lm" / "lm.arpa", tmp_path / "lm" / "lm.bin"
    assert is_kenlm_binary(binary) and not is_kenlm_binary(arpa)
    assert resolve_lm(str(tmp_path / "lm"), "") == (binary, tmp_path / "lm" / "lexicon.txt")
    lp = torch.log_softmax(setup["lp"] / 4, dim=-1)
    results = []
    for lm in (arpa, binary):
        dec = BeamSearchDecoder(tok, DecodeConfig(beam=16, lm=str(lm), lm_weight=1.5, word_score=-0.5))
        dec._decoder.nbest = 3
        results.append([[(h.words, round(h.score, 4)) for h in hyps] for hyps in dec._decoder(lp, setup["lens"])])
    assert results[0] == results[1]
    renamed = binary.rename(tmp_path / "lm" / "renamed.bin")  # no lexicon beside it under this name
    with pytest.raises(LexiconError, match="binary LM: decoding with it needs its lexicon"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lm=str(renamed)))


def test_lm_binary_without_the_tool_is_one_clear_error(setup, tmp_path):
    out = tmp_path / "lm"
    assert asr_main(["lm", str(setup["data"] / "text"), str(out), "--binary", "--build-binary",
                     str(tmp_path / "no_such_tool")]) == 1
    assert not out.exists()


def test_lexicon_restricts_words_and_with_weights_shares_the_lm(setup, tmp_path):
    # A lexicon without the first utterance's first word: that word cannot appear any more.
    words = sorted({w for t in setup["refs"] for w in t.split()})
    missing = setup["refs"][0].split()[0]
    lex = tmp_path / "lex.txt"
    lex.write_text("".join(f"{w}\t{' '.join(w)} |\n" for w in words if w != missing))
    dec = BeamSearchDecoder(setup["rec"].tokenizer, DecodeConfig(beam=8, lexicon=str(lex)))
    out = texts(setup["rec"], dec, setup["lp"][:1], setup["lens"][:1])[0]
    assert missing not in out.split() and set(out.split()) <= set(words)
    base = BeamSearchDecoder(setup["rec"].tokenizer, DecodeConfig(beam=8, lm=str(setup["root"] / "word")))
    other = base.with_weights(2.0, 1.0)
    assert other._loaded["lm"] is base._loaded["lm"] and other.cfg.lm_weight == 2.0
    # Device-agnostic input: float64 or non-contiguous log-probs are accepted.
    lp = setup["lp"].double().transpose(0, 1).contiguous().transpose(0, 1)
    assert texts(setup["rec"], other, lp, setup["lens"]) == setup["refs"]


def test_lexicon_search_keeps_the_last_word(setup, tmp_path):
    """A character model emits no separator after the last word; the lexicon spells one there."""
    tok = setup["rec"].tokenizer
    words = ["the", "cat"]
    lex = tmp_path / "lex.txt"
    lex.write_text("".join(f"{w}\t{' '.join(w)} |\n" for w in words))
    path = tok.encode("the cat")  # t h e <space> c a t: no unit after the last word
    frames = [tok.blank_id]
    for i in path:
        frames += [i, tok.blank_id]
    lp = torch.full((2, len(frames) + 3, len(tok.symbols)), -20.0)
    lp[:, :, tok.blank_id] = -3.0  # blank is plausible everywhere, so skipping "cat" stays in the beam
    for t, i in enumerate(frames):
        lp[:, t, i] = 0.0
    lp[1, len(frames):, tok.blank_id] = 0.0  # a padded batch: the second utterance ends later
    lens = torch.tensor([len(frames), len(frames) + 3])
    dec = BeamSearchDecoder(tok, DecodeConfig(beam=8, lexicon=str(lex)))
    assert texts(setup["rec"], dec, lp, lens) == ["the cat", "the cat"]


def test_read_lexicon_spells_in_unit_ids(tmp_path):
    lex = tmp_path / "lex.txt"
    lex.write_text("it's\ti t ' s |\nread\tr e a d |\nread\tr e d |\n")
    tokens = ["-", "|", "'", "a", "d", "e", "i", "r", "s", "t"]
    assert read_lexicon(lex, tokens) == {"it's": [[6, 9, 2, 8, 1]], "read": [[7, 5, 3, 4, 1], [7, 5, 4, 1]]}


def test_bad_lm_and_lexicon_are_named(setup, tmp_path):
    tok = setup["rec"].tokenizer
    with pytest.raises(ArpaError, match="missing.arpa: no such language model file"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lm=str(tmp_path / "missing.arpa")))
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t<s>\n-1\tzz\n\n\\2-grams:\n-1\t<s>\n\\end\\\n")
    lex = tmp_path / "lex.txt"
    lex.write_text("zz\tz z |\n")
    with pytest.raises(ArpaError, match=r"bad.arpa:10: a 2-gram line needs"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lm=str(bad), lexicon=str(lex)))
    lex.write_text("hello\th e l l o |\ncafé\tc a f é |\n")
    with pytest.raises(LexiconError, match=r"lex.txt:2: word 'café' is spelled with 'é', which is not a unit"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lexicon=str(lex)))
    lex.write_text("hello\th e l l o |\n\nbye\n")
    with pytest.raises(LexiconError, match=r"lex.txt:3: word 'bye' has no spelling"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lexicon=str(lex)))
    lex.write_text("\n")
    with pytest.raises(LexiconError, match=r"lex.txt: empty lexicon"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lexicon=str(lex)))
    alone = tmp_path / "alone.arpa"  # a word LM without the lexicon `asr lm` wrote next to it
    alone.write_text((setup["root"] / "word" / "lm.arpa").read_text())
    with pytest.raises(LexiconError, match="is a word LM .* needs its lexicon"):
        BeamSearchDecoder(tok, DecodeConfig(beam=4, lm=str(alone)))
    with pytest.raises(ValueError, match="needs beam search"):
        DecodeConfig(beam=0, lm="x.arpa")


def test_decode_tune_and_default_pickup(setup, tmp_path, capsys):
    model_dir, data = tmp_path / "model", setup["data"]
    model_dir.mkdir()
    for f in setup["model_dir"].iterdir():
        (model_dir / f.name).write_bytes(f.read_bytes())
    lm = str(setup["root"] / "word")
    assert asr_main(["tune-lm", str(model_dir), str(data), "--lm", lm, "--beam", "8",
                     "--lm-weights", "0.5,1", "--word-scores", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "best alpha" in out and "decode.json" in out
    tuned = json.loads((model_dir / "decode.json").read_text())
    assert tuned["lm"] == "lm.arpa" and tuned["lexicon"] == "lexicon.txt"  # copied, stored relative
    assert len(tuned["tuning"]["grid"]) == 4 and tuned["tuning"]["dev_wer"] == 0.0
    assert (tuned["lm_weight"], tuned["word_score"]) == (0.5, 0)  # all tie at 0% WER: smallest alpha, |beta|
    cfg = load_decode_config(model_dir)
    assert cfg.beam == 8 and cfg.lm == str(model_dir / "lm.arpa")

    # asr decode picks decode.json up by default; --greedy and explicit options override it.
    assert asr_main(["decode", str(model_dir), str(data), str(tmp_path / "d1")]) == 0
    assert json.loads((tmp_path / "d1" / "decode_config.json").read_text())["beam"] == 8
    assert asr_main(["decode", str(model_dir), str(data), str(tmp_path / "d2"), "--greedy"]) == 0
    assert json.loads((tmp_path / "d2" / "decode_config.json").read_text())["beam"] == 0
    for d in ("d1", "d2"):
        assert asr_main(["score", str(data / "text"), str(tmp_path / d / "hyp.txt")]) == 0
        assert "%WER 0.00" in capsys.readouterr().out
    assert resolve_decode_config(model_dir, lm_weight=3.0).lm_weight == 3.0
    assert resolve_decode_config(model_dir, greedy=True).beam == 0
    assert resolve_decode_config(model_dir, greedy=True).beam == 0

    # Options over decode.json build the tuned beam search, and so does the transcription hook (make_decoder).
    dec = build_decoder(resolve_decode_config(model_dir, lm_weight=0.7), setup["rec"].tokenizer)
    assert dec.cfg.lm == str(model_dir / "lm.arpa") and dec.cfg.lm_weight == 0.7 and dec.cfg.beam == 8
    assert make_decoder(model_dir, setup["rec"].tokenizer, lm_weight=0.7).cfg == dec.cfg
    assert make_decoder(model_dir, setup["rec"].tokenizer, greedy=True).name == "greedy"
    with pytest.raises(ValueError, match="greedy decoding contradicts"):
        make_decoder(model_dir, setup["rec"].tokenizer, greedy=True, beam=4)

    # Tuned at a narrow beam, decoded at a wider one: --decode-beam is what decode.json keeps.
    assert asr_main(["tune-lm", str(model_dir), str(data), "--lm", lm, "--beam", "4", "--decode-beam", "12",
                     "--lm-weights", "0.5", "--word-scores", "0", "--no-copy"]) == 0
    assert "with beam 12" in capsys.readouterr().out
    assert load_decode_config(model_dir).beam == 12


def test_unreadable_audio_is_an_empty_hypothesis(setup, tmp_path):
    from asr.data.datadir import write_datadir
    from asr.decode.decode_data import decode_datadir

    dd = read_datadir(setup["data"])
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    dd.wav[dd.utt_ids[0]] = str(broken)
    write_datadir(dd, tmp_path / "data")
    dec = BeamSearchDecoder(setup["rec"].tokenizer, DecodeConfig(beam=4))
    hyps = decode_datadir(setup["rec"], tmp_path / "data", tmp_path / "out", decoder=dec)
    assert hyps[dd.utt_ids[0]] == "" and all(hyps[u] == dd.text[u] for u in dd.utt_ids[1:])
    assert torch.is_tensor(setup["lp"])


def test_decoder_pool_gives_the_in_process_results_in_order(setup):
    """Beam search over forked workers: each utterance decoded as alone, results back in batch order."""
    from asr.decode.parallel import CHUNK_UTTS, DecoderPool, PooledDecoder

    gen = torch.Generator().manual_seed(0)
    lp = torch.cat([setup["lp"]] * 3)
    lp = torch.log_softmax(lp + 3.0 * torch.randn(lp.shape, generator=gen), dim=-1)  # blurred: hypotheses differ
    lens = torch.cat([setup["lens"], setup["lens"] - 7, setup["lens"] // 2])
    assert len(lens) > 2 * CHUNK_UTTS
    dec = BeamSearchDecoder(setup["rec"].tokenizer, DecodeConfig(beam=8, lm=str(setup["root"] / "word"),
                                                                 lm_weight=1.0))
    alone = texts(setup["rec"], dec, lp, lens)
    assert len(set(alone)) > 4
    with DecoderPool({"lm": dec, "greedy": GreedyDecoder()}, nj=2) as pool:
        assert pool.nj == 2
        assert texts(setup["rec"], PooledDecoder(pool, "lm"), lp, lens) == alone
        assert pool.decode("greedy", lp, lens) == GreedyDecoder().decode(lp, lens)
    with DecoderPool({"greedy": GreedyDecoder()}, nj=2) as pool:
        assert pool.nj == 1  # nothing to gain: no processes
