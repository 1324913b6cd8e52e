"""Throughput and latency of ``asr serve`` on loopback: requests/s, p50 and p95 latency per clip length and concurrency.

    python bench/serve.py DATA_DIR [--model DIR] [--workers 0] [--serve-args '...'] [--lengths 5,60]
                          [--clients 1,4,16] [--requests 100] [--max-seconds 30] [--url URL] [--json OUT]

Clips of each length are cut from DATA_DIR's utterances laid end to end (0.3 s of silence between
them), written as 16 kHz 16-bit WAV. Without ``--url`` the script starts ``asr serve`` itself (its own
process, the model loaded once, greedy decoding) on a free loopback port and stops it at the end. For
each (length, clients) pair, every client first sends one warm-up request, then the clients send
clip after clip, each waiting for its answer, until ``--requests`` answers or ``--max-seconds``;
requests/s = answers / wall time. Each answer is checked (HTTP 200, a JSON text). The server's
``/health`` tells how many batched forward passes it ran (fewer than requests: batching merged them).

The target of issue #28 (2 cores, greedy): >= 20 requests/s for 5 s clips with 16 clients, p95 <= 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SR = 16000
GAP_S = 0.3  # silence between the utterances a clip is made of
STARTUP_S = 300  # loading the model (and unpacking the bundled one's LM) may take a while on a busy machine


def make_clips(data_dir: str, lengths: list[float], out_dir: Path) -> dict[float, bytes]:
    """length (s) -> WAV bytes of that many seconds of DATA_DIR's speech."""
    import soundfile as sf

    from asr.data.audio import load_audio
    from asr.data.datadir import read_datadir

    dd = read_datadir(data_dir)
    need = max(lengths) * SR
    pieces, total = [], 0
    for utt in dd.utt_ids * (1 + int(need // SR)):  # cycled if the data dir is short
        pieces += [load_audio(dd.audio_path(utt)), np.zeros(int(GAP_S * SR), dtype=np.float32)]
        total += len(pieces[-2]) + len(pieces[-1])
        if total >= need:
            break
    audio = np.concatenate(pieces)
    out = {}
    for length in lengths:
        path = out_dir / f"clip_{length:g}s.wav"
        sf.write(path, audio[: int(length * SR)], SR, subtype="PCM_16")
        out[length] = path.read_bytes()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    cmd = [sys.executable, "-m", "asr.cli", "--log-level", "WARNING", "serve", "--port", str(port),
           "--workers", str(args.workers), "--max-queue", str(max(64, 2 * max(args.clients)))]
    if args.model:
        cmd += ["-m", args.model]
    cmd += shlex.split(args.serve_args)
    proc = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"asr serve exited with status {proc.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"asr serve did not answer within {STARTUP_S} s")


def run_load(url: str, clip: bytes, clients: int, n_requests: int, max_seconds: float) -> dict:
    """``clients`` threads sending ``clip`` one request after another; latencies of the answers."""
    import requests

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    sent = 0
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def post(http: requests.Session) -> float:
        t = time.perf_counter()
        r = http.post(f"{url}/v1/audio/transcriptions", files={"file": ("clip.wav", clip)}, data={"model": "asr"},
                      timeout=600)
        dt = time.perf_counter() - t
        if r.status_code != 200 or "text" not in r.json():
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        return dt

    def client() -> None:
        nonlocal sent
        with requests.Session() as http:
            try:
                post(http)  # warm-up: connection, first-call allocations
            except Exception as e:  # reported below, not a crash of the benchmark
                errors.append(str(e))
            start.wait()
            while time.perf_counter() < stop_at[0]:
                with lock:
                    if sent >= n_requests:
                        return
                    sent += 1
                try:
                    dt = post(http)
                except Exception as e:
                    errors.append(str(e))
                    continue
                with lock:
                    latencies.append(dt)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 1e9  # set for real once every client is warm
    start.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + max_seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "wall_s": round(wall, 2),
            "requests_per_s": round(len(latencies) / wall, 2), "p50_s": round(float(np.percentile(lat, 50)), 3),
            "p95_s": round(float(np.percentile(lat, 95)), 3), "first_error": errors[0] if errors else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir", help="Kaldi data dir whose utterances make the clips")
    ap.add_argument("--model", help="model directory (default: the bundled one)")
    ap.add_argument("--url", help="a running server instead of starting one")
    ap.add_argument("--workers", type=int, default=0, help="asr serve --workers (0: one per core)")
    ap.add_argument("--serve-args", default="", help="more asr serve flags, e.g. '--backend onnx --batch-wait-ms 10'")
    ap.add_argument("--lengths", default="5,60", help="clip lengths, seconds")
    ap.add_argument("--clients", default="1,4,16", help="concurrent clients")
    ap.add_argument("--requests", type=int, default=100, help="answers per (length, clients) pair, at most")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time per (length, clients) pair, at most")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    args.lengths = [float(x) for x in args.lengths.split(",")]
    args.clients = [int(x) for x in args.clients.split(",")]
    import requests

    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(args.data_dir, args.lengths, Path(tmp))
    proc, url = (None, args.url) if args.url else start_server(args)
    rows = []
    try:
        for length in args.lengths:
            for clients in args.clients:
                before = requests.get(f"{url}/health", timeout=10).json().get("batches", 0)
                row = {"clip_s": length, **run_load(url, clips[length], clients, args.requests, args.max_seconds)}
                batches = requests.get(f"{url}/health", timeout=10).json().get("batches", 0) - before
                row["batches"] = batches  # forward passes run, warm-ups included: batching merges requests
                rows.append(row)
                print(f"{length:>4g} s clips, {clients:>2d} clients: {row['requests_per_s']:7.2f} req/s, "
                      f"p50 {row['p50_s']:.3f} s, p95 {row['p95_s']:.3f} s ({row['requests']} requests, "
                      f"{row['errors']} errors, {batches} batches)", flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    out = {"rows": rows, "workers": args.workers, "serve_args": args.serve_args,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores", "model": args.model or "bundled",
           "command": shlex.join(["python", "bench/serve.py", *sys.argv[1:]])}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
