"""RHVoice, MBROLA (through espeak-ng; also other languages' voices speaking English) and SVOX Pico: the optional
Debian contrib/non-free engines."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from asr.data import synth
from asr.data.datadir import read_datadir, validate_datadir
from asr.data.synth import SPLITS, SynthConfig, build_synth_corpus
from asr.data.tts import ENGINE_NAMES, OUTPUT_SAMPLE_RATE, TTSError, available_engines, engine_class
from asr.data.tts.espeak import EspeakEngine
from asr.data.tts.mbrola import voice_file_text
from asr.data.tts.pico import marked_up
from asr.data.voices import load_inventory, plan_voices

SENTENCE = "the quick brown fox jumps over the lazy dog"
NEW_ENGINES = ("rhvoice", "mbrola", "pico", "mbrola_accent")
INSTALL = ("apt-get install rhvoice rhvoice-english espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 "
           "libttspico-utils, mbrola-de1 ... mbrola-af1 (Debian contrib/non-free)")
# name -> (the rate parameter, a slow value, a fast value, the other parameters to vary)
RATE = {"rhvoice": ("rate", 70, 140, {"pitch": 120}), "mbrola": ("rate", 130, 230, {"pitch": 65, "pitch_range": 80}),
        "pico": ("speed", 70, 140, {"pitch": 120}),
        "mbrola_accent": ("rate", 130, 230, {"pitch": 65, "pitch_range": 80})}


def engine_or_skip(name):
    cls = engine_class(name)
    if not cls.available():
        pytest.skip(f"{name} not installed ({INSTALL})")
    return cls()


def test_registry_order_and_inventory():
    assert ENGINE_NAMES == ("espeak", "piper", "flite", "festival", "rhvoice", "mbrola", "pico", "mbrola_accent",
                            "hibari")
    inventory = load_inventory()
    for name in NEW_ENGINES:
        weight = 0.0 if name == "mbrola_accent" else 0.25  # opt-in: the default corpus stays as it was
        assert inventory[name].weight == weight and inventory[name].dev == [] and inventory[name].test == []


@pytest.mark.parametrize("name", NEW_ENGINES)
def test_engine_speaks_every_voice(name):
    engine = engine_or_skip(name)
    assert engine.voices()
    for voice in engine.voices():
        wav, sr = engine.synthesize(SENTENCE, voice)
        assert sr == OUTPUT_SAMPLE_RATE and wav.dtype == np.float32 and wav.ndim == 1
        assert np.abs(wav).max() <= 1.0 and np.sqrt(np.mean(wav**2)) > 0.01, voice  # not silent
        expected = len(SENTENCE.split()) / (175 / 60)  # ~3 s at 175 words per minute
        assert 0.6 * expected < len(wav) / sr < 1.8 * expected, voice


@pytest.mark.parametrize("name", NEW_ENGINES)
def test_rate_and_pitch_parameters(name):
    engine = engine_or_skip(name)
    voice = engine.voices()[0]
    param, slow_value, fast_value, others = RATE[name]
    slow, _ = engine.synthesize(SENTENCE, voice, **{param: slow_value})
    fast, _ = engine.synthesize(SENTENCE, voice, **{param: fast_value})
    assert len(slow) > 1.5 * len(fast)
    plain, _ = engine.synthesize(SENTENCE, voice, seed=1)
    again, _ = engine.synthesize(SENTENCE, voice, seed=2)
    assert np.array_equal(plain, again)  # deterministic; the seed is accepted and ignored
    varied, _ = engine.synthesize(SENTENCE, voice, **others)
    n = min(len(plain), len(varied))
    assert not np.allclose(plain[:n], varied[:n], atol=1e-3)


@pytest.mark.parametrize("name", NEW_ENGINES)
def test_bad_input_raises_tts_error_naming_it(name):
    engine = engine_or_skip(name)
    with pytest.raises(TTSError, match=f"{name}: unknown voice 'nobody'"):
        engine.synthesize(SENTENCE, "nobody")
    with pytest.raises(TTSError, match="empty text"):
        engine.synthesize("  ", engine.voices()[0])
    with pytest.raises(TypeError, match="length_scale"):
        engine.synthesize(SENTENCE, engine.voices()[0], length_scale=1.0)


def test_rhvoice_library_speaks_as_the_program_does(monkeypatch):
    from asr.data.tts import rhvoice

    engine = engine_or_skip("rhvoice")
    if rhvoice._library() is None:
        pytest.skip(f"{rhvoice.LIBRARY} not installed (apt-get install librhvoice5)")
    voice = engine.voices()[-1]
    in_process, sr = engine.synthesize(SENTENCE, voice, rate=130, pitch=80)
    monkeypatch.setenv("ASR_RHVOICE_PROGRAM", "1")
    rhvoice._library.cache_clear()
    try:
        by_program, _ = engine.synthesize(SENTENCE, voice, rate=130, pitch=80)
    finally:
        rhvoice._library.cache_clear()
    assert sr == OUTPUT_SAMPLE_RATE and np.array_equal(in_process, by_program)


def test_rhvoice_skips_the_noncommercial_voices(monkeypatch):
    from asr.data.tts import rhvoice

    engine = engine_or_skip("rhvoice")
    lgpl = set(engine.voices())
    assert lgpl <= {"alan", "bdl", "clb", "slt"}
    nc = {v for v in ("evgeniy-eng", "lyubov") if (rhvoice.VOICE_ROOT / v / "voice.info").is_file()}
    with pytest.raises(TTSError, match="unknown voice"):
        engine.synthesize(SENTENCE, "lyubov")
    monkeypatch.setenv(rhvoice.NC_ENV, "1")  # opting in to CC BY-NC-ND voices
    assert set(engine.voices()) == lgpl | nc


def test_pico_markup_cannot_be_injected():
    assert marked_up("a <b> & c", speed=90, pitch=110) == '<speed level="90"><pitch level="110">a b c</pitch></speed>'
    if engine_class("pico").available():
        wav, _ = engine_class("pico")().synthesize('one </speed> <speed level="500"> two & three', "en-US")
        assert len(wav) / OUTPUT_SAMPLE_RATE > 0.8
        with pytest.raises(TTSError, match="empty text"):
            engine_class("pico")().synthesize("<&>", "en-US")


def test_mbrola_pitch_range_rescales_the_voice_file():
    if not engine_class("mbrola").available():
        pytest.skip(f"mbrola not installed ({INSTALL})")
    voice = engine_class("mbrola")().voices()[0]
    own = voice_file_text(voice, 50)
    line = next(x for x in own.splitlines() if x.startswith("pitch "))
    base, top = (int(x) for x in line.split()[1:])
    assert f"pitch {base} {base + 2 * (top - base)}" in voice_file_text(voice, 100)
    assert f"pitch {base} {base}" in voice_file_text(voice, 0)
    assert own.replace(line, "") == voice_file_text(voice, 100).replace(f"pitch {base} {base + 2 * (top - base)}", "")


# --------------------------------------------------------------------------------------------
# The engines in the synthetic corpus

OFFERED = {"espeak": None, "flite": ["kal16", "awb", "rms", "slt"],
           "festival": ["cmu_us_slt_arctic_hts", "kal_diphone", "ked_diphone"], "piper": ["piper-joe"],
           "rhvoice": ["alan", "bdl", "clb", "slt"], "mbrola": ["us1", "us2", "us3", "en1"], "pico": ["en-US", "en-GB"],
           "mbrola_accent": ["de1-en", "fr1-en", "sw2-en"]}


def plan_for(engines, accent_weight=0.25):
    inventory = load_inventory()
    inventory["mbrola_accent"].weight = accent_weight  # the shipped inventory's 0 would never draw it
    return plan_voices(inventory, {e: OFFERED[e] or EspeakEngine.variants() for e in engines})


@pytest.mark.skipif(not EspeakEngine.available(), reason="espeakng-loader not installed")
def test_new_engines_are_train_only_and_leave_earlier_draws_alone(tmp_path):
    cfg = SynthConfig(seed=7)
    langs, pool = EspeakEngine.languages(), ["one two three", "four five six"]
    old, new = plan_for(["espeak", "piper", "flite", "festival"]), plan_for(list(OFFERED))
    jobs = {s: [synth.plan_job(cfg, s, i, pool, langs, new[s], tmp_path) for i in range(400)] for s in SPLITS}
    assert {j.engine for j in jobs["train"]} == set(OFFERED)
    assert {j.engine for j in jobs["dev"]} == {"espeak"}
    assert {j.engine for j in jobs["test"]} == {"espeak", "flite", "festival"}
    before = [synth.plan_job(cfg, "train", i, pool, langs, old["train"], tmp_path) for i in range(400)]
    same_engine = [(a, b) for a, b in zip(jobs["train"], before, strict=True) if a.engine == b.engine]
    assert len(same_engine) > 100 and all(a == b for a, b in same_engine)
    for job in jobs["train"]:
        if job.engine in NEW_ENGINES:
            assert job.spk == f"{job.engine}_{job.voice}" and job.voice in OFFERED[job.engine]
            assert synth.estimate_duration(job) > 0.5
    by = {e: next(j for j in jobs["train"] if j.engine == e).params for e in NEW_ENGINES}
    assert 85 <= by["rhvoice"]["rate"] <= 120 and 85 <= by["rhvoice"]["pitch"] <= 115
    assert 150 <= by["mbrola"]["rate"] <= 210 and 35 <= by["mbrola"]["pitch_range"] <= 75
    assert 85 <= by["pico"]["speed"] <= 120 and set(by["pico"]) == {"speed", "pitch", "seed"}
    assert synth.speaker_id("pico", "en-US") == "pico_en-US" and synth.speaker_id("mbrola", "us1") == "mbrola_us1"
    assert by["mbrola_accent"].keys() == by["mbrola"].keys()


@pytest.mark.skipif(not EspeakEngine.available(), reason="espeakng-loader not installed")
def test_accented_mbrola_at_the_shipped_weight_changes_no_utterance(tmp_path):
    cfg = SynthConfig(seed=3)
    langs, pool = EspeakEngine.languages(), ["one two three", "four five six"]
    without = plan_for([e for e in OFFERED if e != "mbrola_accent"])
    with_zero = plan_for(list(OFFERED), accent_weight=0.0)
    for split in SPLITS:
        a = [synth.plan_job(cfg, split, i, pool, langs, without[split], tmp_path) for i in range(300)]
        b = [synth.plan_job(cfg, split, i, pool, langs, with_zero[split], tmp_path) for i in range(300)]
        assert a == b


def test_command_line_flags():
    import argparse

    from asr.data.commands import add_synth_corpus_arguments, synth_config_from_args

    p = argparse.ArgumentParser()
    add_synth_corpus_arguments(p)
    cfg = synth_config_from_args(p.parse_args(["--rhvoice-rate", "90,110", "--mbrola-pitch-range", "40,60",
                                               "--pico-speed", "95,105"]))
    assert cfg.rhvoice_rate == (90, 110) and cfg.mbrola_pitch_range == (40, 60) and cfg.pico_speed == (95, 105)
    assert cfg.mbrola_rate == SynthConfig().mbrola_rate


def tiny_config(out_dir, **kw) -> SynthConfig:
    kw = {"train_hours": 0.03, "dev_utts": 3, "test_utts": 3, "seed": 7, "nj": 1,
          "engines": ["espeak", *NEW_ENGINES], **kw}
    return SynthConfig(out_dir=str(out_dir), **kw)


def needs_new_engines():
    missing = [e for e in ("espeak", *NEW_ENGINES) if e not in available_engines()]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} ({INSTALL})")


def test_corpus_with_the_new_engines(tmp_path):
    needs_new_engines()
    out = tmp_path / "corpus"
    card = build_synth_corpus(tiny_config(out), progress=False)
    assert card["engines_used"] == ["espeak", *NEW_ENGINES] and card["failures_total"] == 0
    for split in SPLITS:
        assert validate_datadir(out / split) == []
    per_engine = card["splits"]["train"]["utterances_per_engine"]
    drawn = [e for e in NEW_ENGINES if e != "mbrola_accent"]  # weight 0 in the shipped inventory: never drawn
    assert all(per_engine[e] > 0 for e in drawn) and not per_engine.get("mbrola_accent"), per_engine
    assert {e for e, n in card["splits"]["test"]["utterances_per_engine"].items() if n} == {"espeak"}
    assert set(card["voices"]["train"]) == {"espeak", *NEW_ENGINES} and set(card["voices"]["test"]) == {"espeak"}
    assert card["params"]["mbrola_pitch_range"] == [35, 75]
    spk = set(read_datadir(out / "train").utt2spk.values())
    assert all(any(s.startswith(f"{e}_") for s in spk) for e in drawn)
    on_disk = json.loads((out / "corpus_card.json").read_text())
    assert on_disk["splits"]["train"]["utterances_per_engine"] == per_engine
    train = card["splits"]["train"]
    assert abs(train["hours"] - train["estimated_hours"]) < 0.25 * train["hours"]


FAKE_PROGRAMS = {
    # RHVoice crashes; pico2wave writes one second of silence to its -w file.
    "RHVoice-test": "import sys\nsys.stderr.write('fake RHVoice: voice data corrupt\\n')\nsys.exit(3)\n",
    "pico2wave": ("import sys, wave\nsys.stdin.read()\nout = sys.argv[sys.argv.index('-w') + 1]\n"
                  "with wave.open(out, 'wb') as w:\n    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)\n"
                  "    w.writeframes(bytes(32000))\n"),
}


def test_failing_engines_are_counted_and_skipped(tmp_path, monkeypatch):
    needs_new_engines()
    import sys

    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for prog, body in FAKE_PROGRAMS.items():
        (fake_bin / prog).write_text(f"#!{sys.executable}\n{body}")
        (fake_bin / prog).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "corpus"
    card = build_synth_corpus(tiny_config(out), progress=False)
    train = card["splits"]["train"]
    assert train["utterances_per_engine"]["rhvoice"] == train["utterances_per_engine"]["pico"] == 0
    assert train["utterances_per_engine"]["mbrola"] > 0 and train["utterances_per_engine"]["espeak"] > 0
    assert train["failed"] > 0 and train["utterances"] + train["failed"] == train["planned"]
    errors = {f["utt"].split("_")[0]: f["error"] for f in card["failures"]}
    assert set(errors) == {"rhvoice", "pico"}
    assert "rhvoice voice" in errors["rhvoice"] and "failed (exit 3)" in errors["rhvoice"]
    assert "voice data corrupt" in errors["rhvoice"]
    assert "pico: voice" in errors["pico"] and "silence" in errors["pico"]
    for split in SPLITS:
        assert validate_datadir(out / split) == []
    assert not any(Path(p).name.startswith(("rhvoice", "pico")) for p in read_datadir(out / "train").wav.values())


@pytest.mark.skipif(not EspeakEngine.available(), reason="espeakng-loader not installed")
def test_corpus_made_before_the_new_fields_can_be_resumed(tmp_path):
    import yaml

    out = tmp_path / "old"
    cfg = tiny_config(out, engines=["espeak"], train_hours=0.002, dev_utts=2, test_utts=2)
    build_synth_corpus(cfg, progress=False)
    saved = yaml.safe_load((out / "synth_config.yaml").read_text())
    new_fields = [k for k in saved if k.startswith(("rhvoice_", "mbrola_", "pico_"))]
    assert len(new_fields) == 7
    (out / "synth_config.yaml").write_text(yaml.safe_dump({k: v for k, v in saved.items() if k not in new_fields}))
    card = build_synth_corpus(cfg, progress=False)  # the absent fields count as their defaults
    assert all(s["reused"] == s["utterances"] for s in card["splits"].values())
    (out / "synth_config.yaml").write_text(yaml.safe_dump({k: v for k, v in saved.items() if k not in new_fields}))
    with pytest.raises(ValueError, match="differs in: pico_speed"):
        build_synth_corpus(tiny_config(out, engines=["espeak"], train_hours=0.002, dev_utts=2, test_utts=2,
                                       pico_speed=(90, 95)), progress=False)
