"""Audio of any length as mono float32 blocks at the model rate, so memory never depends on the length.

A file is read ``block_seconds`` at a time (``SoundFile.blocks``), mixed to mono and resampled
with one streaming soxr resampler per file (``ResampleStream``: its filter state carries over
block edges, so the result matches resampling the whole file at once). ``-`` reads stdin: it is
first copied to a temporary file, because libsndfile needs to seek in most formats and a pipe
cannot; that costs disk, never memory.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import numpy as np
import soundfile as sf
import soxr

from asr.data.audio import AudioError, check_sample_rate, repair_nonfinite

log = logging.getLogger(__name__)

STDIN = "-"


class AudioStream:
    """One audio source: a path, ``-`` (stdin), or an in-memory array.

    ``blocks()`` yields mono float32 arrays ``(n,)`` at ``sample_rate``; ``samples`` counts what
    has been yielded. Opening checks what can be checked up front (missing, directory, not audio,
    no samples) and raises :class:`AudioError` naming the source.
    """

    def __init__(self, source: str | os.PathLike | np.ndarray, sample_rate: int, source_rate: int | None = None,
                 block_seconds: float = 10.0):
        self.sample_rate = sample_rate
        self.block_seconds = block_seconds
        self.samples = 0
        self.repaired = 0  # NaN/infinite source samples replaced (asr.data.audio.repair_nonfinite)
        self._array: np.ndarray | None = None
        self._file: sf.SoundFile | None = None
        self._tmp: str | None = None
        if isinstance(source, np.ndarray):
            self.name = "<array>"
            self._array = _mono(np.asarray(source))
            self.source_rate = source_rate or sample_rate
            self.source_frames = len(self._array)
            check_sample_rate(self.source_rate, self.name)
        else:
            self.name = "<stdin>" if os.fspath(source) == STDIN else os.fspath(source)
            self._open(os.fspath(source))
        if self.source_frames == 0:
            self.close()
            raise AudioError(f"{self.name}: contains no audio samples")

    def _open(self, path: str) -> None:
        if path == STDIN:
            self._tmp = _spool_stdin()
            path = self._tmp
        elif os.path.isdir(path):
            raise AudioError(f"{path}: is a directory, not an audio file")
        elif not os.path.exists(path):
            raise AudioError(f"{path}: no such file")
        if os.path.getsize(path) == 0:
            self.close()
            raise AudioError(f"{self.name}: empty file (0 bytes)")
        try:
            self._file = sf.SoundFile(path)
        except Exception as e:  # LibsndfileError, RuntimeError, TypeError depending on the format
            self.close()
            raise AudioError(f"{self.name}: not a readable audio file ({e})") from e
        self.source_rate = self._file.samplerate
        self.source_frames = self._file.frames
        try:
            check_sample_rate(self.source_rate, self.name)  # a 1 Hz header would be read as hours of audio
        except AudioError:
            self.close()
            raise

    @property
    def duration(self) -> float:
        """Length in seconds, from the header (or the array)."""
        return self.source_frames / self.source_rate

    def blocks(self) -> Iterator[np.ndarray]:
        resampler = None
        if self.source_rate != self.sample_rate:
            resampler = soxr.ResampleStream(self.source_rate, self.sample_rate, 1, dtype="float32")
        size = max(1, int(self.block_seconds * self.source_rate))
        for block in self._source_blocks(size):
            # Before resampling: the resampler's filter would spread one NaN over its whole state.
            block, n = repair_nonfinite(block, self.name)
            self.repaired += n
            out = resampler.resample_chunk(block, last=False) if resampler else block
            if len(out):
                self.samples += len(out)
                yield out
        if resampler:
            tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                self.samples += len(tail)
                yield tail
        if self.repaired:
            log.warning("%s: repaired %d NaN/infinite sample(s) by interpolation", self.name, self.repaired)

    def _source_blocks(self, size: int) -> Iterator[np.ndarray]:
        if self._array is not None:
            for i in range(0, len(self._array), size):
                yield self._array[i:i + size]
            return
        try:
            for block in self._file.blocks(blocksize=size, dtype="float32", always_2d=True):
                yield _mono(block)
        except sf.LibsndfileError as e:  # e.g. a truncated or corrupt file found mid-way
            raise AudioError(f"{self.name}: read error after {self.samples / self.sample_rate:.1f} s ({e})") from e

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp is not None:
            os.unlink(self._tmp)
            self._tmp = None

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _mono(x: np.ndarray) -> np.ndarray:
    """``(n,)`` or ``(n, channels)`` -> ``(n,)`` float32, channels averaged; integer samples scaled to [-1, 1)."""
    if np.issubdtype(x.dtype, np.integer):  # PCM: int16 / int32, or uint8 centred on 128
        info = np.iinfo(x.dtype)
        half = (int(info.max) - int(info.min) + 1) / 2
        x = (x.astype(np.float64) - (int(info.min) + half)) / half
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    if x.ndim != 1:
        raise AudioError(f"audio array must be (samples,) or (samples, channels), got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _spool_stdin() -> str:
    fd, path = tempfile.mkstemp(prefix="asr-stdin-")
    try:
        with os.fdopen(fd, "wb") as f:
            shutil.copyfileobj(sys.stdin.buffer, f, length=1 << 20)
    except BaseException:  # interrupted or terminated (asr.cli turns SIGTERM into an exception) while copying
        os.unlink(path)
        raise
    return path
