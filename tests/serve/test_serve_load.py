"""50 requests from 16 concurrent clients, good and bad mixed: every good one gets its transcript, every bad
one a 4xx JSON error, the server stays up and leaves no temporary file."""

from __future__ import annotations

import io
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import soundfile as sf
from serve_helpers import MAX_UPLOAD_MB

requests = pytest.importorskip("requests")

CLIENTS = 16
REQUESTS = 50


def _bad_uploads(wav: bytes) -> list[tuple[str, bytes, int]]:
    """``(name, bytes, expected status)`` of uploads that cannot be transcribed."""
    rng = random.Random(0)
    return [("truncated.wav", wav[:20], 400),  # cut inside the header
            ("garbage.wav", b"RIFF\x24\x00\x00\x00WAVE" + rng.randbytes(4000), 400),  # the magic, then noise
            ("empty.wav", b"", 400),
            ("big.wav", wav + bytes(int(MAX_UPLOAD_MB * 1e6)), 413),
            ("notes.txt", b"not audio, just text\n" * 50, 400)]


def _as(path, fmt: str) -> bytes:
    data, sr = sf.read(path)
    buf = io.BytesIO()
    sf.write(buf, data, sr, format=fmt)
    return buf.getvalue()


def test_concurrent_clients_good_and_bad_uploads(server, clips):
    items = list(clips.values())
    good = [(f"{i}.{fmt}", _as(path, fmt.upper()) if fmt != "wav" else path.read_bytes(), text)
            for i, (path, text) in enumerate(items) for fmt in ("wav", "flac", "ogg")]
    bad = _bad_uploads(items[0][0].read_bytes())
    jobs = [("good", *good[i % len(good)]) if i % 3 else ("bad", *bad[(i // 3) % len(bad)]) for i in range(REQUESTS)]
    random.Random(1).shuffle(jobs)

    local = threading.local()  # a keep-alive session per client thread

    def send(job):
        kind, name, data, want = job
        if not hasattr(local, "http"):
            local.http = requests.Session()
        r = local.http.post(f"{server['url']}/v1/audio/transcriptions", files={"file": (name, data)},
                            data={"model": "tiny"}, timeout=120)
        return job, r.status_code, r.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(send, jobs))
    health = requests.get(f"{server['url']}/health", timeout=10).json()
    for (kind, name, _, want), status, body in results:
        if kind == "good":
            assert (status, body.get("text")) == (200, want), name
        else:
            assert status == want and set(body["error"]) == {"message", "type", "param", "code"}, (name, body)
    n_good = sum(kind == "good" for kind, *_ in jobs)
    assert health["status"] == "ok" and health["active_requests"] == 0
    # Concurrent requests share forward passes (fewer batches than requests, even with one segment each).
    assert health["batches"] < n_good
    assert not list(server["tmp_dir"].iterdir())
