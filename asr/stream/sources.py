"""Where streamed audio comes from: a file (optionally at the speed of speech), stdin, a microphone.

Each source yields mono float32 pieces at the model's rate, ``piece_s`` seconds each (the last may be
shorter). Stdin is read as it arrives, never spooled: a wav header (``RIFF``) says its format, anything
else is raw 16-bit little-endian PCM at ``raw_rate`` (``arecord -f S16_LE -r 16000 -c 1 -t raw``).
"""

from __future__ import annotations

import logging
import struct
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import soxr

from asr.data.audio import AudioError, check_sample_rate
from asr.transcribe.audio_stream import AudioStream

log = logging.getLogger(__name__)


def file_pieces(path: str, sample_rate: int, piece_s: float, realtime: bool = False) -> Iterator[np.ndarray]:
    """A file in pieces of ``piece_s``; ``realtime``: no faster than it would be spoken."""
    with AudioStream(path, sample_rate, block_seconds=max(piece_s, 1.0)) as audio:
        yield from _paced(_rechunk(audio.blocks(), int(round(piece_s * sample_rate))), sample_rate, realtime)


def _rechunk(blocks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    size = max(1, size)
    buf = np.zeros(0, dtype=np.float32)
    for block in blocks:
        buf = np.concatenate([buf, block])
        while buf.size >= size:
            yield buf[:size]
            buf = buf[size:]
    if buf.size:
        yield buf


def _paced(pieces: Iterator[np.ndarray], sample_rate: int, realtime: bool) -> Iterator[np.ndarray]:
    t0, sent = time.monotonic(), 0
    for piece in pieces:
        if realtime:
            wait = t0 + sent / sample_rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        sent += piece.size
        yield piece


def _read_exact(f: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        more = f.read(n - len(out))
        if not more:
            break
        out += more
    return out


def _wav_format(f: BinaryIO, name: str) -> tuple[int, int, int]:
    """After ``RIFF``: read up to the data chunk; return (rate, channels, bytes per sample) of PCM."""
    _read_exact(f, 8)  # size, "WAVE"
    fmt = None
    while True:
        head = _read_exact(f, 8)
        if len(head) < 8:
            raise AudioError(f"{name}: wav header ends before its data chunk")
        cid, size = head[:4], struct.unpack("<I", head[4:])[0]
        if cid == b"fmt ":
            body = _read_exact(f, size + (size & 1))
            tag, channels, rate = struct.unpack("<HHI", body[:8])
            bits = struct.unpack("<H", body[14:16])[0]
            if tag not in (1, 0xFFFE) or bits != 16:
                raise AudioError(f"{name}: streamed wav must be 16-bit PCM (format tag {tag}, {bits} bits); "
                                 "convert it, or pass the file by name instead of on stdin")
            fmt = (rate, channels, 2)
        elif cid == b"data":
            if fmt is None:
                raise AudioError(f"{name}: wav data chunk before its fmt chunk")
            return fmt
        else:
            _read_exact(f, size + (size & 1))


def stdin_pieces(sample_rate: int, piece_s: float, raw_rate: int = 16000,
                 stream: BinaryIO | None = None) -> Iterator[np.ndarray]:
    """Stdin as it arrives: a wav (16-bit PCM) or raw s16le mono at ``raw_rate``."""
    f = stream if stream is not None else sys.stdin.buffer
    name = "<stdin>"
    first = _read_exact(f, 4)
    if first == b"RIFF":
        rate, channels, width = _wav_format(f, name)
        pending = b""
    else:
        rate, channels, width = raw_rate, 1, 2
        pending = first
    check_sample_rate(rate, name)
    resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32") if rate != sample_rate else None
    frame = channels * width
    want = max(frame, int(round(piece_s * rate)) * frame)

    def convert(data: bytes, last: bool) -> np.ndarray:
        x = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        x = x.reshape(-1, channels).mean(1) if channels > 1 else x
        return resampler.resample_chunk(x, last=last) if resampler else x

    while True:
        data = pending + (f.read1(want - len(pending)) if hasattr(f, "read1") else f.read(want - len(pending)))
        if len(data) == len(pending):  # end of input
            tail = convert(data[: len(data) // frame * frame], last=True)
            if tail.size:
                yield tail
            return
        whole = len(data) // frame * frame
        pending = data[whole:]
        if whole:
            out = convert(data[:whole], last=False)
            if out.size:
                yield out


def require_sounddevice():
    """The optional ``sounddevice`` module, or an AudioError saying how to do without it."""
    try:
        import sounddevice
    except (ImportError, OSError) as e:  # OSError: the package is there but PortAudio is not
        raise AudioError(f"--mic needs the sounddevice package and PortAudio ({e}): pip install 'asr[mic]'; "
                         "or pipe audio in: arecord -f S16_LE -r 16000 -c 1 -t raw | asr transcribe --stream -"
                         ) from e
    return sounddevice


def microphone_pieces(sample_rate: int, piece_s: float) -> Iterator[np.ndarray]:
    """The default input device, until interrupted (needs the optional ``sounddevice`` package)."""
    sounddevice = require_sounddevice()
    blocksize = max(1, int(round(piece_s * sample_rate)))
    try:
        with sounddevice.InputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                     blocksize=blocksize) as mic:
            while True:
                data, overflowed = mic.read(blocksize)
                if overflowed:
                    log.warning("microphone input overflowed: audio was lost (the machine is too slow?)")
                yield data[:, 0].copy()
    except sounddevice.PortAudioError as e:
        raise AudioError(f"microphone: {e}") from e
