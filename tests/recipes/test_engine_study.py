"""recipes/synth/engine_study.sh stage 0: the A and B corpora, B's eSpeak audio hard-linked from A's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from asr.data.datadir import read_datadir, validate_datadir
from asr.data.tts.espeak import EspeakEngine
from asr.data.tts.festival import FestivalEngine
from asr.data.tts.flite import FliteEngine
from asr.data.tts.piper import PiperEngine

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (EspeakEngine.available() and FliteEngine.available() and FestivalEngine.available()),
    reason="needs eSpeak, Flite and Festival (apt-get install flite festival festvox-kallpc16k ...)")


def test_engine_study_corpora_share_espeak_audio(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", str(REPO / "recipes/synth/engine_study.sh"), "--stage", "0", "--stop-stage", "0",
         "--hours", "0.01", "--b-hours", "0.0125", "--heldout", "festival", "--data", str(data),
         "--exp", str(tmp_path / "exp"), "--synth-args", "--dev-utts 4 --test-utts 6 --no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    a, b = data / "A", data / "B_festival"
    for d in (a / "train", a / "test", b / "train", b / "test", b / "test_festival"):
        assert validate_datadir(d) == [], d
    a_train, b_train = read_datadir(a / "train"), read_datadir(b / "train")
    engines = {u.split("_")[0] for u in b_train.text}
    # festival held out of B's training audio; piper (the pip extra) where installed
    assert engines == {"espeak", "flite"} | ({"piper"} if PiperEngine.available() else set()), engines
    shared = set(a_train.text) & set(b_train.text)
    assert shared and all(u.startswith("espeak_") for u in shared)
    for u in shared:  # the same utterance: the same text and the very same file (a hard link)
        assert a_train.text[u] == b_train.text[u]
        assert os.path.samefile(a_train.audio_path(u), b_train.audio_path(u))
    # Links B does not plan are gone: every wav in B's directory is one of B's utterances.
    assert {p.stem for p in (b / "wav" / "train").glob("*.wav")} == set(b_train.text)
    assert {u.split("_")[0] for u in read_datadir(b / "test_festival").text} == {"festival"}
