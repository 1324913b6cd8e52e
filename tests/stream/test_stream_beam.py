"""Streaming beam search with a word LM: the model directory's tuned decode.json, as offline."""

from __future__ import annotations

import shutil

import pytest

from asr.cli import main as asr_main
from asr.data.audio import read_audio
from asr.data.datadir import read_datadir
from asr.decode.decoder import make_decoder
from asr.model.runtime import ModelRuntime
from asr.stream.recognizer import StreamingRecognizer


@pytest.fixture(scope="module")
def lm_model(stream_run, tmp_path_factory):
    """The streaming model with a 2-gram LM of its 4 sentences, tuned into its decode.json."""
    root = tmp_path_factory.mktemp("stream_lm")
    model = root / "model"
    shutil.copytree(stream_run["model_dir"], model)
    assert asr_main(["lm", str(stream_run["data"]), str(root / "lm"), "--order", "2"]) == 0
    assert asr_main(["tune-lm", str(model), str(stream_run["data"]), "--lm", str(root / "lm"), "--beam", "20",
                     "--lm-weights", "0.5,1", "--word-scores", "0"]) == 0
    return model


def test_streaming_beam_search_equals_offline_beam_search(lm_model, stream_run):
    rec = StreamingRecognizer(lm_model)  # decode.json: beam search
    assert rec.decoder_name != "greedy"
    rt = ModelRuntime(lm_model, "cpu")
    offline = make_decoder(lm_model, rt.tokenizer)
    dd = read_datadir(stream_run["data"])
    for utt in dd.utt_ids[:2]:
        wave, _ = read_audio(dd.audio_path(utt))
        lp, lens = rt.log_probs([wave])
        expected = rt.tokenizer.decode(offline.decode(lp, lens)[0]).strip()
        events = list(rec.stream(wave[i:i + 1600] for i in range(0, len(wave), 1600)))
        assert " ".join(e.text for e in events if e.kind == "final") == expected == stream_run["texts"][utt]
        partials = [e for e in events if e.kind == "partial"]
        assert partials and all(expected.startswith(p.stable) for p in partials)


def test_greedy_can_be_forced_and_beam_needs_a_decode_json(lm_model, stream_run):
    assert StreamingRecognizer(lm_model, decoder="greedy").decoder_name == "greedy"
    with pytest.raises(ValueError, match="decode.json"):
        StreamingRecognizer(stream_run["model_dir"], decoder="beam")
