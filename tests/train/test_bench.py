"""bench/train.py runs, on the CPU, where the GPU check runs it: without soundfile, jiwer, librosa, espeak."""

import json
import os
import subprocess
import sys

from train_helpers import REPO, child_env

MISSING_ON_GPU_MACHINES = ("soundfile", "soxr", "jiwer", "librosa", "rapidfuzz", "espeakng_loader")


def test_benchmark_without_the_audio_stack(tmp_path):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name in MISSING_ON_GPU_MACHINES:  # shadow the installed packages: importing one fails
        (stubs / f"{name}.py").write_text(f"raise ImportError('no {name} here')\n")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "bench/train.py", "--hidden", "16", "--layers", "1", "--hours", "0.03",
         "--max-frames", "2000", "--steps", "2", "--warmup", "1", "--threads", "1", "--json", str(out)],
        cwd=REPO, env=child_env(PYTHONPATH=f"{stubs}{os.pathsep}{REPO}"), capture_output=True, text=True,
        timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["device"] == "cpu" and res["timed_batches"] == 2
    assert min(res["pipeline_fps"], res["model_only_fps"], res["naive_fps"]) > 0
    assert res["hours_per_epoch_1000h"] > 0 and "(iii) naive" in proc.stdout
