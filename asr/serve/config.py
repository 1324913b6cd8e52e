"""What ``asr serve`` is allowed to do: its limits, workers and batching, written once (flags from the dataclass)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from asr.config import option


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class ServeConfig:
    """Limits and throughput knobs of the server; each field is an ``asr serve`` flag (asr.serve.commands)."""

    workers: int = option(0, help="threads that decode audio and run the network (0: one per CPU core)")
    max_queue: int = option(64, help="requests admitted at once (waiting or running); more get 503 + Retry-After")
    max_upload_mb: float = option(25.0, help="largest request body, MB (OpenAI's limit); larger ones get 413")
    max_audio_s: float = option(600.0, help="longest audio, seconds; longer files get 413")
    batch_wait_ms: float = option(5.0, help="how long a free worker waits for more requests to batch with the "
                                            "first one, ms (0: batch only what is already waiting)")
    # 30 s, not 60: smaller batches spread over both workers (bench/serve.py, 5 s clips, 16 clients, the bundled
    # model: p95 0.461 s at 30, 0.542 s at 60; 45 and 43 requests/s)
    batch_seconds: float = option(30.0, help="most audio in one batched forward pass, seconds")
    max_streams: int = option(8, help="live WebSocket streams open at once (/v1/audio/stream); more are refused")
    tmp_dir: str = option("", help="where uploads are written while decoded (empty: the system's temp dir)")

    @property
    def n_workers(self) -> int:
        return self.workers or cpu_cores()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)
