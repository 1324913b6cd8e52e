"""recipes/synth/run.sh stages 0-1: the corpus, its augmented copy and the real-speech dev set, validated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from asr.data.datadir import read_datadir, validate_datadir
from asr.data.tts.espeak import EspeakEngine

REPO = Path(__file__).resolve().parents[2]


def run_recipe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(REPO / "recipes/synth/run.sh"), "--stage", "0", "--stop-stage", "1", "--train-hours", "0.01",
         "--dev-utts", "4", "--test-utts", "6", "--engines", "espeak", "--data", str(tmp_path / "data"),
         "--exp", str(tmp_path / "exp"), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def make_realdev(folder: Path) -> dict[str, str]:
    """A folder like ../shared/realdev: FLAC files and a manifest.tsv with upper-case transcripts."""
    texts = {"spk1-0001": "THE DOG BARKED ALL NIGHT", "spk2-0001": "SHE READ THE LETTER TWICE"}
    engine = EspeakEngine()
    rows = ["file\tseconds\tspeaker\tgender\ttranscript"]
    for i, (name, text) in enumerate(texts.items()):
        wav, sr = engine.synthesize(text.lower(), "en-us+m3" if i else "en-us+f2")
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        sf.write(folder / "audio" / f"{name}.flac", wav, sr)
        rows.append(f"audio/{name}.flac\t{len(wav) / sr:.2f}\t{name.split('-')[0]}\tF\t{text}")
    (folder / "manifest.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return texts


def test_stage0_makes_augmented_train_and_real_dev_sets(tmp_path):
    texts = make_realdev(tmp_path / "realdev")
    proc = run_recipe(tmp_path, "--realdev", str(tmp_path / "realdev"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = tmp_path / "data"
    for d in ("train", "train_aug", "dev", "test", "realdev"):
        assert validate_datadir(data / d) == [], d
    train, aug = read_datadir(data / "train"), read_datadir(data / "train_aug")
    # One augmented copy replaces each utterance: same transcripts, new audio under data/wav/train_aug.
    assert sorted(aug.text.values()) == sorted(train.text.values())
    assert all(u.startswith("aug1-") for u in aug.utt_ids)
    assert all(aug.audio_path(u).resolve().is_relative_to((data / "wav" / "train_aug").resolve()) for u in aug.utt_ids)
    assert (data / "train_aug" / "utt2aug").is_file()
    real = read_datadir(data / "realdev")
    assert sorted(real.text.values()) == sorted(t.lower() for t in texts.values())
    assert "Stage 1: validate" in proc.stdout


def test_without_real_dev_set_or_augmentation(tmp_path):
    proc = run_recipe(tmp_path, "--realdev", str(tmp_path / "missing"), "--augment-config", "none")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "no real dev set" in proc.stdout
    data = tmp_path / "data"
    assert not (data / "realdev").exists() and not (data / "train_aug").exists()
    assert validate_datadir(data / "train") == []
