"""``/v1/audio/stream``: live transcription over a WebSocket (the page's live captions use it).

Protocol (the connection is one stream):

- connect to ``ws://HOST/v1/audio/stream?sample_rate=16000`` (the rate of what you send; it is
  resampled to the model's). With an API key: the ``Authorization: Bearer KEY`` header, or
  ``?api_key=KEY`` (browsers cannot set WebSocket headers).
- send binary messages of 16-bit little-endian mono PCM, any size (the page sends ~100 ms);
- receive text messages, one JSON event each: ``{"type": "partial", "text", "stable", ...}`` while
  speech goes on, ``{"type": "final", "text", "words", "start", "end", ...}`` per finished segment
  (asr.stream.recognizer.StreamEvent.to_dict);
- send the text message ``{"type": "end"}`` when the audio ends: the last events follow, then
  ``{"type": "done"}``, and the server closes. ``{"type": "error", "message"}`` precedes a close
  the server starts (no streaming model, too many streams, bad audio).

The network runs in a worker thread per message, so streams do not block each other or the HTTP API.
"""

from __future__ import annotations

import json
import logging

import anyio
import numpy as np
import soxr
from starlette.websockets import WebSocket, WebSocketDisconnect

from asr.serve.auth import bearer_token, key_matches

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008  # WebSocket close codes (RFC 6455)
TRY_AGAIN_LATER = 1013
MAX_MESSAGE_S = 10.0  # longest audio in one message


class StreamEndpoint:
    """The WebSocket handler, holding the streaming recognizer (or None) and the count of open streams."""

    def __init__(self, recognizer, max_streams: int, api_key: str | None = None):
        self.rec = recognizer
        self.max_streams = max_streams
        self.api_key = api_key
        self.active = 0

    def _authorized(self, ws: WebSocket) -> bool:
        given = bearer_token(ws.headers.get("authorization", "")) or ws.query_params.get("api_key", "")
        return key_matches(self.api_key, given)

    async def handle(self, ws: WebSocket) -> None:
        await ws.accept()
        if not self._authorized(ws):
            return await _refuse(ws, "missing or wrong API key (Authorization: Bearer KEY, or ?api_key=KEY)",
                                 POLICY_VIOLATION)
        if self.rec is None:
            return await _refuse(ws, "this server has no streaming model: start it with "
                                     "`asr serve --stream-model DIR`", POLICY_VIOLATION)
        try:
            rate = int(ws.query_params.get("sample_rate", self.rec.sample_rate))
            if not 4000 <= rate <= 192000:
                raise ValueError
        except ValueError:
            return await _refuse(ws, f"sample_rate must be an integer from 4000 to 192000, got "
                                     f"{ws.query_params.get('sample_rate')!r}", POLICY_VIOLATION)
        if self.active >= self.max_streams:
            return await _refuse(ws, f"{self.max_streams} streams are open, the most this server runs at once: "
                                     "try again later", TRY_AGAIN_LATER)
        self.active += 1
        try:
            await self._serve(ws, rate)
        except WebSocketDisconnect:
            pass  # the client went away: its stream is dropped
        finally:
            self.active -= 1

    async def _serve(self, ws: WebSocket, rate: int) -> None:
        stream = self.rec.open()
        resampler = soxr.ResampleStream(rate, self.rec.sample_rate, 1, dtype="float32") \
            if rate != self.rec.sample_rate else None
        max_bytes = int(MAX_MESSAGE_S * rate) * 2
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                if len(data) % 2 or len(data) > max_bytes:
                    return await _refuse(ws, f"audio messages are 16-bit PCM: an even number of bytes, at most "
                                             f"{MAX_MESSAGE_S:g} s ({max_bytes} bytes); got {len(data)}",
                                         POLICY_VIOLATION)
                samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
                if resampler is not None:
                    samples = resampler.resample_chunk(samples, last=False)
                events = await anyio.to_thread.run_sync(stream.feed, samples)
            elif text is not None and _is_end(text):
                tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True) if resampler else None
                events = await anyio.to_thread.run_sync(_finish, stream, tail)
                for e in events:
                    await ws.send_text(json.dumps(e.to_dict()))
                await ws.send_text(json.dumps({"type": "done"}))
                return await ws.close()
            else:
                return await _refuse(ws, 'send binary PCM audio, then the text message {"type": "end"}',
                                     POLICY_VIOLATION)
            for e in events:
                await ws.send_text(json.dumps(e.to_dict()))


def _finish(stream, tail: np.ndarray | None) -> list:
    events = stream.feed(tail) if tail is not None and tail.size else []
    return events + stream.close()


def _is_end(text: str) -> bool:
    try:
        return json.loads(text).get("type") == "end"
    except (ValueError, AttributeError):
        return False


async def _refuse(ws: WebSocket, message: str, code: int) -> None:
    await ws.send_text(json.dumps({"type": "error", "message": message}))
    await ws.close(code)
