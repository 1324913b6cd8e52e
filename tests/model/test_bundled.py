"""The model shipped in the package: its card, and that it loads and transcribes speech with no model given."""

import json

from asr.cli import main as asr_main
from asr.evaluate.scoring import score
from asr.model.bundled import BUNDLED_DIR, bundled_card, has_bundled_model


def test_the_bundle_and_its_card_are_in_the_package():
    assert has_bundled_model()
    names = {p.name for p in BUNDLED_DIR.iterdir()}
    assert {"model.safetensors", "config.json", "tokens.txt", "decode.json", "lm.bin.gz", "lexicon.txt.gz",
            "card.json", "README.md"} <= names
    assert sum(p.stat().st_size for p in BUNDLED_DIR.iterdir()) < 40e6
    card = bundled_card()
    for part, kind in (("realdev", "greedy"), ("realdev", "lm"), ("test", "greedy"), ("test", "lm")):
        assert 0 < card["results"][part][kind]["wer"] < 100, (part, kind)
    assert card["speed"]["rtf_lm"] > 0 and card["training"]["seconds"] > 0 and card["corpus"]["train_hours"] >= 40
    readme = (BUNDLED_DIR / "README.md").read_text()
    assert f"{card['results']['realdev']['lm']['wer']:.1f}%" in readme and "## Limits" in readme


def test_load_model_without_a_directory_transcribes(spoken_fox, tmp_path, monkeypatch):
    import asr

    monkeypatch.setenv("ASR_CACHE_DIR", str(tmp_path / "cache"))
    rec = asr.load_model(device="cpu")
    assert "lm" in rec.decoder.name  # the tuned beam search with the LM, from the bundle's decode.json
    text = rec.transcribe(spoken_fox[0])
    # CER, not WER: real-speech WER is ~55%, and one wrong letter costs a whole word (measured: CER 14%, WER 54%)
    assert text and score({"u": spoken_fox[1]}, {"u": text}).cer.error_rate < 0.3, text


def test_transcribe_and_models_commands_use_it(spoken_fox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASR_CACHE_DIR", str(tmp_path / "cache"))
    assert asr_main(["transcribe", "--greedy", "-f", "json", str(spoken_fox[0])]) == 0
    words = json.loads(capsys.readouterr().out)["segments"][0]["words"]
    assert words and all(w["end"] >= w["start"] for w in words)
    assert asr_main(["models"]) == 0
    out = capsys.readouterr().out
    assert "real speech" in out and f"{bundled_card()['results']['realdev']['lm']['wer']:.1f}%" in out
