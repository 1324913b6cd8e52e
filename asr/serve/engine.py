"""Transcription for many concurrent requests: audio decoded in a worker pool, segments batched across requests.

A request's audio is read and cut at pauses in a worker thread (:meth:`Engine.read`); its segments
join one queue. A batcher on the event loop waits for a free worker, gives the others ``batch_wait_s``
to arrive, takes segments in arrival order up to ``batch_seconds`` of audio, and runs them as one
batch (``Recognizer.decode_segments``: features, network, greedy search, word times) on that worker.
Each request's future completes when its last segment is decoded. Under load the queue grows while
the workers are busy, so batches grow with it: throughput rises with concurrency, latency only by a
batch. At most ``workers`` batches run at once, each on its own core (torch threads = cores / workers,
set by the command).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from asr.serve.config import ServeConfig
from asr.serve.errors import ApiError
from asr.transcribe.audio_stream import AudioStream
from asr.transcribe.recognizer import Recognizer
from asr.transcribe.result import Segment, Transcript
from asr.transcribe.segmenter import AudioSegment, Segmenter

log = logging.getLogger(__name__)
MAX_BATCH_SEGMENTS = 64  # as Recognizer's own batches: padding and alignment stay cheap


@dataclass
class _Job:
    """One request's segments in the queue; ``future`` gets the decoded segments in order."""

    future: asyncio.Future
    results: list[Segment | None]
    left: int = field(init=False)

    def __post_init__(self) -> None:
        self.left = len(self.results)

    def done(self, i: int, seg: Segment) -> None:
        self.results[i] = seg
        self.left -= 1
        if self.left == 0 and not self.future.done():
            self.future.set_result(self.results)

    def fail(self, e: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(e)


class Engine:
    """One loaded model serving concurrent requests: ``await engine.transcribe(path) -> Transcript``.

    :meth:`start` and :meth:`stop` run on the server's event loop (its lifespan).
    """

    def __init__(self, rec: Recognizer, cfg: ServeConfig):
        self.rec = rec
        self.cfg = cfg
        self.sample_rate = rec.feature_cfg.sample_rate
        self.pool = ThreadPoolExecutor(cfg.n_workers, thread_name_prefix="asr-serve")
        self._pending: deque[tuple[_Job, int, AudioSegment]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._batcher: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        self.batches = 0  # batched forward passes run (for /health and the benchmark)

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(self.cfg.n_workers)
        self._batcher = asyncio.create_task(self._batch_loop(), name="asr-serve-batcher")

    async def stop(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn, *args):
        """``fn(*args)`` on a worker thread (file copies, audio decoding), awaited."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    @property
    def healthy(self) -> bool:
        """False once the batcher has stopped (a bug): requests would wait for ever, so they get 500 instead."""
        return self._batcher is not None and not self._batcher.done()

    async def transcribe(self, path: str, source: str = "") -> Transcript:
        if not self.healthy:
            raise RuntimeError("the batcher is not running; see the server's log")
        segments, duration = await self.run(self.read, path)
        decoded: list[Segment] = []
        if segments:
            job = _Job(asyncio.get_running_loop().create_future(), [None] * len(segments))
            self._pending.extend((job, i, s) for i, s in enumerate(segments))
            self._wakeup.set()
            decoded = await job.future
        return Transcript([s for s in decoded if s.text], duration, source=source)

    def read(self, path: str) -> tuple[list[AudioSegment], float]:
        """An audio file cut at pauses, and its duration (s). AudioError if unreadable; 413 if too long."""
        with AudioStream(path, self.sample_rate) as stream:
            self._check_duration(stream.duration)
            segments = list(Segmenter(self.sample_rate, self.rec.vad).segments(self._bounded(stream.blocks())))
            return segments, stream.samples / self.sample_rate

    def _check_duration(self, seconds: float) -> None:
        if seconds > self.cfg.max_audio_s:
            raise ApiError(413, f"audio too long: {seconds:.1f} s (the limit is {self.cfg.max_audio_s:g} s)",
                           param="file", code="audio_too_long")

    def _bounded(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The blocks, stopped with a 413 once past the limit: a header may understate the length."""
        n = 0
        for b in blocks:
            n += len(b)
            self._check_duration(n / self.sample_rate)
            yield b

    async def _batch_loop(self) -> None:
        max_samples = self.cfg.batch_seconds * self.sample_rate
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._slots.acquire()
            if self.cfg.batch_wait_ms > 0 and len(self._pending) < MAX_BATCH_SEGMENTS:
                await asyncio.sleep(self.cfg.batch_wait_ms / 1000)
            batch = [self._pending.popleft()]
            total = len(batch[0][2].wave)
            while (self._pending and len(batch) < MAX_BATCH_SEGMENTS
                   and total + len(self._pending[0][2].wave) <= max_samples):
                batch.append(self._pending.popleft())
                total += len(batch[-1][2].wave)
            task = asyncio.create_task(self._decode(batch))
            self._running.add(task)  # a reference, so that the task is not collected while it runs
            task.add_done_callback(self._running.discard)

    async def _decode(self, batch: list[tuple[_Job, int, AudioSegment]]) -> None:
        try:
            segments = await self.run(self.rec.decode_segments, [s for _, _, s in batch])
        except Exception as e:  # every request of the batch gets the error; the server goes on
            log.exception("batch of %d segments failed", len(batch))
            for job, _, _ in batch:
                job.fail(e)
        else:
            for (job, i, _), seg in zip(batch, segments, strict=True):
                job.done(i, seg)
        finally:
            self.batches += 1
            self._slots.release()

    @property
    def queued_segments(self) -> int:
        return len(self._pending)
