"""`asr transcribe --stream`: a wav or raw PCM through stdin in 100 ms pieces, a file, and the errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from asr.cli import main as asr_main
from asr.data.audio import read_audio
from asr.data.datadir import read_datadir
from asr.decode.greedy import greedy_decode
from asr.model.runtime import ModelRuntime

PIECE_S = 0.1


def _clip(stream_run):
    dd = read_datadir(stream_run["data"])
    utt = dd.utt_ids[0]
    wave, _ = read_audio(dd.audio_path(utt))
    rt = ModelRuntime(stream_run["model_dir"], "cpu")
    lp, lens = rt.log_probs([wave])
    return dd.audio_path(utt), wave, rt.tokenizer.decode(greedy_decode(lp, lens)[0]).strip()


def _feed(cmd: list[str], payload: bytes, piece: int) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for i in range(0, len(payload), piece):
        proc.stdin.write(payload[i:i + piece])
        proc.stdin.flush()
        time.sleep(0.005)
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, out.decode(), err.decode())


@pytest.mark.parametrize("kind", ["wav", "raw"])
def test_stdin_in_100ms_pieces_gives_partials_then_the_final_text(stream_run, tmp_path, kind):
    path, wave, expected = _clip(stream_run)
    pcm = (np.clip(wave, -1, 1) * 32767).astype("<i2")
    if kind == "wav":
        sf.write(tmp_path / "a.wav", pcm, 16000, subtype="PCM_16")
        payload = (tmp_path / "a.wav").read_bytes()
    else:
        payload = pcm.tobytes()
    cmd = [sys.executable, "-m", "asr.cli", "transcribe", "--stream", "-m", str(stream_run["model_dir"]), "--greedy",
           "--jsonl", "-"]
    done = _feed(cmd, payload, int(16000 * PIECE_S) * 2)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    partials = [e for e in events if e["type"] == "partial"]
    finals = [e for e in events if e["type"] == "final"]
    duration = len(wave) / 16000
    assert partials and partials[0]["audio_time"] < duration - 0.3  # text came while audio was still arriving
    assert " ".join(e["text"] for e in finals) == expected
    assert all(expected.startswith(p["stable"]) for p in partials)
    assert "Traceback" not in done.stderr


def test_a_file_streams_to_final_lines(stream_run, capsys):
    path, _, expected = _clip(stream_run)
    assert asr_main(["transcribe", "--stream", "-m", str(stream_run["model_dir"]), "--greedy", str(path)]) == 0
    assert capsys.readouterr().out.split("\n")[0] == expected


def test_streaming_errors_are_one_line(stream_run, overfit_run, tmp_path, capsys, caplog):
    path, _, _ = _clip(stream_run)
    assert asr_main(["transcribe", "--stream", "-m", str(overfit_run["model_dir"]), str(path)]) == 1
    assert asr_main(["transcribe", "--stream", "-m", str(stream_run["model_dir"]), "--greedy",
                     str(tmp_path / "missing.wav")]) == 1
    assert asr_main(["transcribe", "--stream", "-m", str(stream_run["model_dir"]), "--piece-ms", "0", str(path)]) == 1
    err = capsys.readouterr().err + caplog.text  # the CLI logs errors; under pytest they land in caplog
    assert "not a streaming model" in err and "missing.wav" in err and "--piece-ms" in err
    assert "Traceback" not in err


def test_mic_without_sounddevice_says_what_to_install(capsys):
    import importlib.util

    if importlib.util.find_spec("sounddevice") is not None:
        pytest.skip("sounddevice is installed")
    assert asr_main(["transcribe", "--mic"]) == 1
    err = capsys.readouterr().err
    assert "asr[mic]" in err and "arecord" in err and "Traceback" not in err
    assert asr_main(["transcribe", "--mic", "a.wav"]) == 1  # --mic takes no files
