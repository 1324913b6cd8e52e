"""Transcripts as OpenAI's transcription endpoint returns them, one body per ``response_format``.

    json          {"text", "usage"}
    text          the text and a newline (text/plain)
    srt, vtt      subtitles (asr.transcribe.formats: cues split at CUE_CHARS / CUE_SECONDS)
    verbose_json  {"task", "language", "duration", "text", "segments": [{"id", "seek", "start", "end",
                  "text", "tokens", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"}],
                  "words": [{"word", "start", "end"}]}; segments when ``timestamp_granularities[]``
                  holds "segment" or is empty, words when it holds "word" (as OpenAI does)

Fields a CTC model has no value for are still there, so that clients parse them: ``seek`` 0, ``tokens``
[], ``temperature`` 0, ``no_speech_prob`` 0; ``avg_logprob`` is the mean log of the words' confidences
(their units' mean posteriors), ``compression_ratio`` Whisper's (text bytes / zlib-compressed bytes).
"""

from __future__ import annotations

import json
import math
import zlib

from asr.transcribe.formats import render
from asr.transcribe.result import Segment, Transcript

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
LANGUAGES = {"en": "english"}  # ISO-639-1 code -> the name verbose_json reports
MEDIA_TYPES = {"json": "application/json", "verbose_json": "application/json", "text": "text/plain; charset=utf-8",
               "srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}
ROUND = 3  # decimals of seconds: milliseconds, as asr.transcribe.result


def compression_ratio(text: str) -> float:
    data = text.encode()
    return round(len(data) / len(zlib.compress(data)), ROUND) if data else 0.0


def _segment(i: int, s: Segment) -> dict:
    logps = [math.log(max(w.confidence, 1e-6)) for w in s.words]
    return {"id": i, "seek": 0, "start": round(s.start, ROUND), "end": round(s.end, ROUND), "text": s.text,
            "tokens": [], "temperature": 0.0, "avg_logprob": round(sum(logps) / len(logps), 4) if logps else 0.0,
            "compression_ratio": compression_ratio(s.text), "no_speech_prob": 0.0}


def verbose_json(t: Transcript, granularities: list[str], language: str = "en") -> dict:
    out: dict = {"task": "transcribe", "language": LANGUAGES[language], "duration": round(t.duration, ROUND),
                 "text": t.text}
    if "segment" in granularities or not granularities:
        out["segments"] = [_segment(i, s) for i, s in enumerate(t.segments)]
    if "word" in granularities:
        out["words"] = [{"word": w.word, "start": round(w.start, ROUND), "end": round(w.end, ROUND)} for w in t.words]
    return out


def response_body(t: Transcript, fmt: str, granularities: list[str]) -> tuple[str, str]:
    """``(body, media type)`` of transcript ``t`` in response format ``fmt`` (one of RESPONSE_FORMATS)."""
    if fmt == "json":
        body = json.dumps({"text": t.text, "usage": {"type": "duration", "seconds": math.ceil(t.duration)}},
                          ensure_ascii=False)
    elif fmt == "verbose_json":
        body = json.dumps(verbose_json(t, granularities), ensure_ascii=False)
    elif fmt == "text":
        body = t.text + "\n"
    else:
        body = render(t, fmt)
    return body, MEDIA_TYPES[fmt]
