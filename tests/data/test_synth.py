import json
from pathlib import Path

import pytest
import yaml

from asr.data import synth
from asr.data.datadir import read_datadir, validate_datadir
from asr.data.synth import SPLITS, SynthConfig, build_synth_corpus, main
from asr.data.tts.espeak import EspeakEngine

pytestmark = pytest.mark.skipif(not EspeakEngine.available(), reason="espeakng-loader not installed")


def tiny_config(out_dir, nj=1, **kw) -> SynthConfig:
    kw = {"train_hours": 0.01, "dev_utts": 5, "test_utts": 5, "seed": 7, "engines": ["espeak"], **kw}
    return SynthConfig(out_dir=str(out_dir), nj=nj, **kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "corpus"
    card = build_synth_corpus(tiny_config(out), progress=False)
    return out, card


def variant_of(spk: str) -> str:
    return spk.split("_", 2)[2]  # espeak_<lang>_<variant>


def test_data_dirs_are_valid(corpus):
    out, card = corpus
    for split in SPLITS:
        assert validate_datadir(out / split) == [], split
        dd = read_datadir(out / split)
        assert len(dd) == card["splits"][split]["utterances"] > 0
        for utt in dd.utt_ids:
            assert utt.startswith(dd.utt2spk[utt] + "-")
            assert Path(dd.wav[utt]).is_absolute() and Path(dd.wav[utt]).parent == out / "wav" / split
    assert card["splits"]["dev"]["utterances"] == 5 and card["splits"]["test"]["utterances"] == 5
    assert 0.005 < card["splits"]["train"]["hours"] < 0.02
    assert card["failures_total"] == 0


def test_held_out_variants_and_sentences(corpus):
    out, _ = corpus
    dirs = {s: read_datadir(out / s) for s in SPLITS}
    variants = {s: {variant_of(spk) for spk in dirs[s].utt2spk.values()} for s in SPLITS}
    assert variants["test"] <= set(synth.DEFAULT_TEST_VARIANTS)
    assert variants["dev"] <= set(synth.DEFAULT_DEV_VARIANTS)
    assert not variants["test"] & variants["train"] and not variants["dev"] & variants["train"]
    texts = {s: set(dirs[s].text.values()) for s in SPLITS}
    assert not texts["test"] & texts["train"] and not texts["dev"] & texts["train"]
    assert not texts["test"] & texts["dev"]


def test_card_and_config_are_written(corpus):
    out, card = corpus
    on_disk = json.loads((out / "corpus_card.json").read_text())
    assert on_disk["splits"]["test"]["utterances"] == card["splits"]["test"]["utterances"]
    assert set(on_disk["espeak_variants"]["test"]) == set(synth.DEFAULT_TEST_VARIANTS)
    cfg = yaml.safe_load((out / "synth_config.yaml").read_text())
    assert cfg["seed"] == 7 and cfg["engines_used"] == ["espeak"]


def test_deterministic_and_independent_of_nj(corpus, tmp_path):
    out1, _ = corpus
    out2 = tmp_path / "again"
    build_synth_corpus(tiny_config(out2, nj=2), progress=False)
    for split in SPLITS:
        a, b = read_datadir(out1 / split), read_datadir(out2 / split)
        assert a.text == b.text and a.utt2spk == b.utt2spk
        assert a.utt2dur.keys() == b.utt2dur.keys()
        assert all(abs(a.utt2dur[u] - b.utt2dur[u]) < 0.05 for u in a.utt2dur)


def test_other_seed_gives_other_corpus(corpus, tmp_path):
    out1, _ = corpus
    build_synth_corpus(tiny_config(tmp_path / "s8", seed=8), progress=False)
    assert read_datadir(out1 / "test").text != read_datadir(tmp_path / "s8" / "test").text


def test_resume_reuses_wavs_and_refuses_other_config(tmp_path):
    out = tmp_path / "c"
    build_synth_corpus(tiny_config(out, train_hours=0.005), progress=False)
    card = build_synth_corpus(tiny_config(out, train_hours=0.008), progress=False)
    assert card["splits"]["test"]["reused"] == 5
    assert 0 < card["splits"]["train"]["reused"] < card["splits"]["train"]["utterances"]
    # Shrinking the corpus removes the wavs it no longer uses.
    card = build_synth_corpus(tiny_config(out, train_hours=0.005), progress=False)
    n_train = card["splits"]["train"]["utterances"]
    assert len(list((out / "wav" / "train").iterdir())) == n_train
    assert validate_datadir(out / "train") == []
    with pytest.raises(ValueError, match="seed"):
        build_synth_corpus(tiny_config(out, seed=99), progress=False)


class FlakyEngine:
    """Fails on every third call; otherwise defers to eSpeak."""

    def __init__(self):
        self.inner, self.calls = EspeakEngine(), 0

    def synthesize(self, text, voice, **params):
        self.calls += 1
        if self.calls % 3 == 0:
            raise RuntimeError("engine crashed")
        return self.inner.synthesize(text, voice, **params)


def test_failed_utterances_are_skipped_and_counted(tmp_path, monkeypatch):
    monkeypatch.setitem(synth._ENGINES, "espeak", FlakyEngine())
    out = tmp_path / "flaky"
    card = build_synth_corpus(tiny_config(out), progress=False)
    assert card["failures_total"] > 0
    assert card["failures"][0]["error"].startswith("RuntimeError: engine crashed")
    for split in SPLITS:
        s = card["splits"][split]
        assert s["utterances"] + s["failed"] == s["planned"]
        assert validate_datadir(out / split) == []


def test_piper_is_planned_for_train_only(tmp_path):
    cfg = tiny_config(tmp_path, piper_fraction=0.5)
    langs = EspeakEngine.languages()
    variants = synth.split_variants(EspeakEngine.variants(), cfg)
    pool = ["one two three", "four five six"]
    jobs = {s: [synth.plan_job(cfg, s, i, pool, langs, variants[s], True, tmp_path) for i in range(40)]
            for s in SPLITS}
    assert {j.engine for j in jobs["train"]} == {"espeak", "piper"}
    assert {j.engine for j in jobs["dev"] + jobs["test"]} == {"espeak"}
    piper_job = next(j for j in jobs["train"] if j.engine == "piper")
    assert piper_job.utt.startswith("piper_joe-train") and piper_job.spk == "piper_joe"
    # eSpeak utterances do not change when Piper is unavailable.
    no_piper = [synth.plan_job(cfg, "train", i, pool, langs, variants["train"], False, tmp_path)
                for i in range(40)]
    same = [(a, b) for a, b in zip(jobs["train"], no_piper, strict=True) if a.engine == "espeak"]
    assert same and all(a == b for a, b in same)
    assert all(b.engine == "espeak" for b in no_piper)


def test_speaker_ids():
    assert synth.speaker_id("espeak", "en-us+m3") == "espeak_en-us_m3"
    assert synth.speaker_id("espeak", "en-us+Mr serious") == "espeak_en-us_Mr_serious"
    assert synth.speaker_id("espeak", "en-gb-x-rp") == "espeak_en-gb-x-rp_default"
    assert synth.speaker_id("piper", "piper-joe") == "piper_joe"


def test_command_line(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["--out-dir", str(out), "--train-hours", "0.003", "--dev-utts", "2", "--test-utts", "2",
               "--nj", "1", "--seed", "0", "--engines", "espeak", "--espeak-rate", "150,160",
               "--no-progress"])
    assert rc == 0
    assert all(validate_datadir(out / s) == [] for s in SPLITS)
    cfg = yaml.safe_load((out / "synth_config.yaml").read_text())
    assert cfg["espeak_rate"] == [150, 160]
    assert main(["--out-dir", str(out), "--seed", "1", "--engines", "espeak", "--no-progress",
                 "--train-hours", "0.003", "--dev-utts", "2", "--test-utts", "2"]) == 1
    assert "different configuration" in capsys.readouterr().err
