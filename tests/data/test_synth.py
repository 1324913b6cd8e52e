import json
from pathlib import Path

import pytest
import yaml

from asr.cli import main as asr_main
from asr.data import synth
from asr.data.datadir import read_datadir, validate_datadir
from asr.data.synth import SPLITS, SynthConfig, build_synth_corpus, default_prompts_path
from asr.data.tts.espeak import EspeakEngine
from asr.data.voices import load_inventory, plan_voices

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
    assert set(on_disk["voices"]["test"]["espeak"]) == set(synth.DEFAULT_TEST_VARIANTS)
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
    # The same prompt text at another path (the shipped files before they moved into the package, or another
    # install) resumes: prompt files are compared by content (prompts_sha1), other prompts are refused.
    saved = yaml.safe_load((out / "synth_config.yaml").read_text())
    saved["prompts"] = "/old/checkout/data/text/wordnet_sentences.txt"
    (out / "synth_config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    assert build_synth_corpus(tiny_config(out, train_hours=0.005), progress=False)["splits"]["test"]["reused"] == 5
    other = tmp_path / "other.txt"
    other.write_text(default_prompts_path().read_text().split("\n", 1)[1])  # one sentence fewer
    with pytest.raises(ValueError, match="prompts_sha1"):
        build_synth_corpus(tiny_config(out, train_hours=0.005, prompts=str(other)), progress=False)


class FlakyEngine:
    """Fails on every third call; otherwise defers to eSpeak."""

    def __init__(self):
        self.inner, self.calls = EspeakEngine(), 0

    def synthesize(self, text, voice, **params):
        self.calls += 1
        if self.calls % 3 == 0:
            raise RuntimeError("engine crashed")
        return self.inner.synthesize(text, voice, **params)


def test_engine_crash_in_a_worker_is_isolated_and_counted(tmp_path, monkeypatch):
    cfg = tiny_config(tmp_path / "crash", nj=2)
    plan = plan_for(["espeak"])
    jobs = [synth.plan_job(cfg, "dev", i, ["one two three", "four five six seven"], EspeakEngine.languages(),
                           plan["dev"], tmp_path / "wav") for i in range(12)]
    monkeypatch.setenv(synth.CRASH_TEST_ENV, jobs[5].utt)
    results = synth.run_jobs(jobs, nj=2, trim_db=40.0, trim_pad=0.1, progress=False)
    assert [r["utt"] for r in results] == [j.utt for j in jobs]
    assert not results[5]["ok"] and results[5]["error"].startswith("EngineCrash: the espeak worker process died")
    assert all(r["ok"] for i, r in enumerate(results) if i != 5)


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


def plan_for(engines):
    offered = {e: ({"espeak": EspeakEngine.variants(), "piper": ["piper-joe"], "flite": ["kal16", "awb", "rms", "slt"],
                    "festival": ["cmu_us_slt_arctic_hts", "kal_diphone", "ked_diphone"]}[e]) for e in engines}
    return plan_voices(load_inventory(), offered)


def test_other_engines_keep_espeak_utterances_unchanged(tmp_path):
    cfg = tiny_config(tmp_path)
    langs = EspeakEngine.languages()
    pool = ["one two three", "four five six"]
    full, espeak_only = plan_for(["espeak", "piper", "flite", "festival"]), plan_for(["espeak"])
    jobs = {s: [synth.plan_job(cfg, s, i, pool, langs, full[s], tmp_path) for i in range(200)] for s in SPLITS}
    assert {j.engine for j in jobs["train"]} == {"espeak", "piper", "flite", "festival"}
    assert {j.engine for j in jobs["dev"]} == {"espeak"}  # the inventory has no dev voices for the others
    assert {j.engine for j in jobs["test"]} == {"espeak", "flite", "festival"}  # piper's one voice is train only
    assert {j.voice for j in jobs["test"] if j.engine != "espeak"} == {"rms", "ked_diphone"}
    assert not {j.voice for j in jobs["train"]} & {"rms", "ked_diphone"}
    piper_job = next(j for j in jobs["train"] if j.engine == "piper")
    assert piper_job.utt.startswith("piper_joe-train") and piper_job.spk == "piper_joe"
    flite_job = next(j for j in jobs["train"] if j.engine == "flite")
    assert flite_job.spk == f"flite_{flite_job.voice}" and 0.85 <= flite_job.params["duration_stretch"] <= 1.2
    # An eSpeak utterance does not depend on which other engines are installed.
    alone = [synth.plan_job(cfg, "train", i, pool, langs, espeak_only["train"], tmp_path) for i in range(200)]
    same = [(a, b) for a, b in zip(jobs["train"], alone, strict=True) if a.engine == "espeak"]
    assert same and all(a == b for a, b in same)
    assert all(b.engine == "espeak" for b in alone)


def test_heldout_engine_gets_its_own_test_set():
    offered = {"espeak": EspeakEngine.variants(), "flite": ["kal16", "awb", "rms", "slt"]}
    plan = plan_voices(load_inventory(), offered, heldout_engines=["flite"])
    assert set(plan) == {"train", "dev", "test", "test_flite"}
    assert plan["test_flite"].voices == {"flite": ["kal16", "awb", "rms", "slt"]}
    assert all("flite" not in plan[s].voices for s in SPLITS)


def test_inventory_errors_name_the_problem(tmp_path):
    bad = tmp_path / "voices.yaml"
    bad.write_text("espeak:\n  weight: 1\n  dev: [Mike]\n  test: [NoSuchVariant]\n")
    with pytest.raises(ValueError, match=r"voices.yaml: espeak: held-out voices not offered.*NoSuchVariant"):
        plan_voices(load_inventory(bad), {"espeak": EspeakEngine.variants()}, path=bad)
    bad.write_text("espeak:\n  dev: [Mike]\n  test: [Mike]\n")
    with pytest.raises(ValueError, match="both in dev and test"):
        load_inventory(bad)
    bad.write_text("espeak:\n  weight: 1\n  test: [m1]\n")
    with pytest.raises(ValueError, match="no installed engine has dev voices"):
        plan_voices(load_inventory(bad), {"espeak": EspeakEngine.variants()})


def test_speaker_ids():
    assert synth.speaker_id("espeak", "en-us+m3") == "espeak_en-us_m3"
    assert synth.speaker_id("espeak", "en-us+Mr serious") == "espeak_en-us_Mr_serious"
    assert synth.speaker_id("espeak", "en-gb-x-rp") == "espeak_en-gb-x-rp_default"
    assert synth.speaker_id("piper", "piper-joe") == "piper_joe"


def test_command_line(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = asr_main(["synth-corpus", "--out-dir", str(out), "--train-hours", "0.003", "--dev-utts", "2",
                   "--test-utts", "2", "--nj", "1", "--seed", "0", "--engines", "espeak", "--espeak-rate", "150,160",
                   "--no-progress"])
    assert rc == 0
    assert all(validate_datadir(out / s) == [] for s in SPLITS)
    cfg = yaml.safe_load((out / "synth_config.yaml").read_text())
    assert cfg["espeak_rate"] == [150, 160]
    assert asr_main(["synth-corpus", "--out-dir", str(out), "--seed", "1", "--engines", "espeak", "--no-progress",
                     "--train-hours", "0.003", "--dev-utts", "2", "--test-utts", "2"]) == 1
    assert "different configuration" in capsys.readouterr().err


def test_multi_engine_corpus_with_a_heldout_engine(tmp_path):
    from asr.data.tts import available_engines

    if not {"flite", "festival"} <= set(available_engines()):
        pytest.skip("needs the Debian engines flite and festival")
    out = tmp_path / "multi"
    card = build_synth_corpus(tiny_config(out, train_hours=0.03, engines=["espeak", "flite", "festival"],
                                          heldout_engines=["flite"], test_utts=8), progress=False)
    assert set(card["splits"]) == {"train", "dev", "test", "test_flite"}
    for split in card["splits"]:
        assert validate_datadir(out / split) == []
    spk = {s: set(read_datadir(out / s).utt2spk.values()) for s in card["splits"]}
    assert all(x.startswith("flite_") for x in spk["test_flite"])
    assert not any(x.startswith("flite_") for s in SPLITS for x in spk[s])
    assert any(x.startswith("festival_") for x in spk["train"])
    assert read_datadir(out / "test_flite").text.keys() != read_datadir(out / "test").text.keys()
    assert set(read_datadir(out / "test_flite").text.values()) == set(read_datadir(out / "test").text.values())
    assert card["engines_used"] == ["espeak", "flite", "festival"]


BOOK_SENTENCES = [  # 10-30 words once normalized, as the recipe's book prompts are
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want "
    "of a wife.",
    "The evening was fine and warm, and the whole party walked slowly along the river towards the old mill.",
    "She had never seen so many people in one small room, and every one of them seemed to be talking at once.",
    "He went on for some time without speaking, until at last the road turned and the house came into view.",
    "Short one.",  # too short for the default 10-30 words
]


def test_engine_prompts_are_parsed_and_checked():
    cfg = SynthConfig(engine_prompts="hibari=a.txt, piper=dir/b.txt")
    assert cfg.engine_prompt_paths() == {"hibari": Path("a.txt"), "piper": Path("dir/b.txt")}
    assert SynthConfig().engine_prompt_paths() == {}
    for bad, match in [("hibari", "not ENGINE=FILE"), ("hibari=", "not ENGINE=FILE"),
                       ("hibari=a,hibari=b", "given twice"), ("nosuch=a.txt", "unknown engine")]:
        with pytest.raises(ValueError, match=match):
            SynthConfig(engine_prompts=bad)
    with pytest.raises(ValueError, match="LO > HI"):
        SynthConfig(engine_prompt_words=(30, 10))


def test_engine_pool_filters_dedupes_leaves_out_dev_and_test_and_follows_the_seed():
    held_out = {synth.normalize_text(BOOK_SENTENCES[1])}
    sentences = BOOK_SENTENCES + [BOOK_SENTENCES[0].upper()]  # the same words: a duplicate
    pool = synth.make_engine_pool(sentences, SynthConfig(seed=1), "hibari", held_out)
    assert sorted(pool) == sorted(synth.normalize_text(s) for s in (BOOK_SENTENCES[0], *BOOK_SENTENCES[2:4]))
    assert pool == synth.make_engine_pool(sentences, SynthConfig(seed=1), "hibari", held_out)
    assert synth.make_engine_pool(sentences, SynthConfig(engine_prompt_words=(1, 5)), "x", set()) == ["short one"]
    with pytest.raises(ValueError, match="no sentence of 40-50 words for hibari"):
        synth.make_engine_pool(sentences, SynthConfig(engine_prompt_words=(40, 50)), "hibari", set())


def test_engine_pools_change_only_that_engines_text(tmp_path):
    from asr.data.voices import SplitVoices

    cfg = SynthConfig(seed=3)
    voices = SplitVoices({"espeak": ["default"], "flite": ["slt"]}, {"espeak": 0.5, "flite": 0.5})
    shared, own = ["one two three", "four five six"], ["seven eight nine ten", "eleven twelve thirteen"]
    plain = [synth.plan_job(cfg, "train", i, shared, ["en-us"], voices, tmp_path) for i in range(60)]
    mixed = [synth.plan_job(cfg, "train", i, shared, ["en-us"], voices, tmp_path, {"flite": own}) for i in range(60)]
    assert {j.engine for j in plain} == {"espeak", "flite"}
    for a, b in zip(plain, mixed, strict=True):
        assert (a.utt, a.engine, a.voice, a.params) == (b.utt, b.engine, b.voice, b.params)
        assert b.text in (own if b.engine == "flite" else shared) and a.text in shared


def test_corpus_with_an_engines_own_prompts(corpus, tmp_path):
    base, _ = corpus
    dev_sentence = next(iter(read_datadir(base / "dev").text.values()))
    prompts = tmp_path / "books.txt"
    prompts.write_text("\n".join([*BOOK_SENTENCES, dev_sentence]) + "\n", encoding="utf-8")
    out = tmp_path / "books_corpus"
    card = build_synth_corpus(tiny_config(out, engine_prompts=f"espeak={prompts}", engine_prompt_words=(1, 30)),
                              progress=False)
    own = {synth.normalize_text(s) for s in BOOK_SENTENCES}
    train = read_datadir(out / "train")
    assert set(train.text.values()) <= own and len(set(train.text.values())) > 1
    assert card["engine_prompts"] == {"espeak": {"file": str(prompts), "sentences": len(own)}}
    # dev and test still come from --prompts: the same as the corpus without --engine-prompts
    assert read_datadir(out / "dev").text == read_datadir(base / "dev").text
    assert dev_sentence not in set(train.text.values())
    with pytest.raises(FileNotFoundError, match="nosuch.txt does not exist"):
        build_synth_corpus(tiny_config(tmp_path / "x", engine_prompts=f"espeak={tmp_path / 'nosuch.txt'}"),
                           progress=False)
