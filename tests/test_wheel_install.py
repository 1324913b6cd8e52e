"""A wheel install works on its own: package data (voices, shipped prompt sentences, the bundled model)
travels with it.

The wheel is built offline from a copy of the sources, installed into a fresh virtual environment that
sees this environment's dependencies but not its editable ``asr``, and the synth recipe's first stage
(``asr synth-corpus``) runs from a directory outside the repository.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from asr.data.datadir import read_datadir, validate_datadir

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kw)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _clean_env() -> dict[str, str]:
    """This environment minus what would point the new one back at the source tree."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed: no offline wheel build (--no-build-isolation needs it)")
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so that the build leaves no build/ or egg-info behind in the repository.
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "asr", src / "asr", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          src, "-w", tmp / "dist"])
    (whl,) = (tmp / "dist").glob("asr-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh environment with the wheel installed; its imports of torch, numpy, ... come from this one."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     env=_clean_env()).stdout.strip())
    # Plain directory lines in a .pth are added to sys.path without processing the .pth files there,
    # so this environment's editable-install finder (which would import asr from the repository) is not loaded.
    parents = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "parent_env.pth").write_text("".join(f"{p}\n" for p in parents))
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])
    return env_dir


def test_wheel_holds_the_package_data(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("asr/data/voices.yaml", "asr/data/text/wordnet_sentences.txt", "asr/data/text/fortune_sentences.txt",
              "asr/data/text/WORDNET_LICENSE", "asr/data/text/FORTUNES_LICENSE",
              "asr/model/bundled_model/model.safetensors", "asr/model/bundled_model/lm.bin.gz",
              "asr/model/bundled_model/decode.json", "asr/model/bundled_model/README.md",
              "asr/model/bundled_stream/model.safetensors", "asr/model/bundled_stream/lm.bin.gz",
              "asr/model/bundled_stream/config.json", "asr/serve/static/index.html"):
        assert f in names, f


def test_synth_corpus_runs_from_the_installed_wheel(venv, tmp_path):
    cwd = tmp_path / "elsewhere"  # not the repository: nothing may be found relative to the working directory
    cwd.mkdir()
    env = _clean_env()
    where = _run([venv / "bin" / "python", "-c", "import asr; print(asr.__file__)"], cwd=cwd, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"asr imported from {where}, not from the wheel install"

    out = cwd / "corpus"
    _run([venv / "bin" / "asr", "synth-corpus", "--out-dir", out, "--train-hours", "0.002", "--dev-utts", "2",
          "--test-utts", "2", "--engines", "espeak", "--nj", "1", "--no-progress"], cwd=cwd, env=env)
    for split in ("train", "dev", "test"):
        assert validate_datadir(out / split) == [], split
        dd = read_datadir(out / split)
        assert len(dd) >= 2 and all(dd.audio_path(u).suffix == ".wav" and dd.audio_path(u).is_file()
                                    for u in dd.utt_ids)
    config = (out / "synth_config.yaml").read_text()
    assert f"prompts: {Path(where).parent / 'data' / 'text' / 'wordnet_sentences.txt'}" in config


def test_transcribe_right_after_install(venv, tmp_path):
    """`asr transcribe FILE` with the model inside the wheel: no model directory, no training, no network."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**_clean_env(), "ASR_CACHE_DIR": str(tmp_path / "cache")}
    wav = cwd / "hello.wav"
    _run([venv / "bin" / "asr", "speak", "--out", wav, "the weather is cold and wet today"], cwd=cwd, env=env)
    text = _run([venv / "bin" / "asr", "transcribe", wav, "--no-progress"], cwd=cwd, env=env).stdout.strip()
    assert len(text.split()) >= 3, text
    assert list((tmp_path / "cache").glob("bundled-*/lm.bin"))  # the LM was unpacked outside the install
