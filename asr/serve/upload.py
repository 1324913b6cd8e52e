"""The multipart form of ``POST /v1/audio/transcriptions``, read under a size limit, and its audio as a temporary file.

A body over the limit is refused with 413 as soon as its Content-Length, or else its bytes read so
far, say so; the rest of it is then read and dropped (up to DRAIN_FACTOR times the limit), because
closing a connection with unread data makes the kernel reset it, and the client would see a broken
connection instead of the 413. The upload is written to a named temporary file (libsndfile reads
paths), which the app removes whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from asr.serve.errors import ApiError
from asr.serve.openai_format import GRANULARITIES, LANGUAGES, RESPONSE_FORMATS

DRAIN_FACTOR = 4  # a body this many times the limit is not read to its end: the connection is dropped instead
MAX_FIELDS = 16  # the form's text fields (OpenAI's endpoint has about 10)
TMP_PREFIX = "asr-serve-"
SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")  # a file name's extension, kept: libsndfile guesses some formats by it


class _TooLarge(Exception):
    pass


@dataclass
class TranscriptionForm:
    """The fields of one request, checked; ``file`` is still open (close it with :meth:`close`)."""

    file: UploadFile
    model: str = ""
    language: str = "en"
    response_format: str = "json"
    temperature: float = 0.0
    granularities: list[str] = field(default_factory=list)

    async def close(self) -> None:
        await self.file.close()


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"upload too large: the limit is {limit / 1e6:g} MB", param="file", code="file_too_large")


async def _drain(request: Request, limit: int) -> None:
    n = 0
    with contextlib.suppress(Exception):  # the client may be gone already
        while n <= DRAIN_FACTOR * limit:
            msg = await request.receive()
            n += len(msg.get("body", b""))
            if msg["type"] != "http.request" or not msg.get("more_body", False):
                return


async def read_form(request: Request, limit: int) -> TranscriptionForm:
    """The request's fields, checked (ApiError 400 naming the field), its body at most ``limit`` bytes (413)."""
    if int(request.headers.get("content-length") or 0) > limit:
        await _drain(request, limit)
        raise too_large(limit)
    seen = 0

    async def receive():
        nonlocal seen
        msg = await request.receive()
        seen += len(msg.get("body", b""))
        if seen > limit:
            raise _TooLarge
        return msg

    try:
        form = await Request(request.scope, receive).form(max_files=1, max_fields=MAX_FIELDS)
    except _TooLarge:
        await _drain(request, limit)
        raise too_large(limit) from None
    except ClientDisconnect:  # nobody reads the answer; the status is for the access log
        raise ApiError(400, "the client disconnected before the upload ended", code="client_disconnected") from None
    try:
        return _check(form)
    except ApiError:
        await form.close()
        raise


def _check(form) -> TranscriptionForm:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "missing 'file': upload the audio as a multipart file field named 'file'", param="file",
                       code="missing_file")
    out = TranscriptionForm(upload, model=str(form.get("model") or ""))
    language = str(form.get("language") or "en").strip().lower()
    if language not in LANGUAGES:
        raise ApiError(400, f"language {language!r} is not supported: this model transcribes English only "
                            f"({', '.join(LANGUAGES)})", param="language", code="unsupported_language")
    out.language = language
    out.response_format = str(form.get("response_format") or "json")
    if out.response_format not in RESPONSE_FORMATS:
        raise ApiError(400, f"response_format {out.response_format!r} is not one of {', '.join(RESPONSE_FORMATS)}",
                       param="response_format", code="invalid_value")
    try:
        out.temperature = float(form.get("temperature") or 0.0)
    except ValueError:
        out.temperature = float("nan")  # fails the range check below
    if not 0.0 <= out.temperature <= 1.0:
        raise ApiError(400, f"temperature must be a number between 0 and 1, got {form.get('temperature')!r}",
                       param="temperature", code="invalid_value")
    out.granularities = [str(g) for g in form.getlist("timestamp_granularities[]")
                         + form.getlist("timestamp_granularities")]
    bad = [g for g in out.granularities if g not in GRANULARITIES]
    if bad:
        raise ApiError(400, f"timestamp_granularities[] {bad[0]!r} is not one of {', '.join(GRANULARITIES)}",
                       param="timestamp_granularities", code="invalid_value")
    if str(form.get("stream") or "false").lower() == "true":
        raise ApiError(400, "stream=true is not supported: the transcript comes back whole", param="stream",
                       code="unsupported_value")
    return out


def _suffix(filename: str | None) -> str:
    m = SUFFIX.search(Path(filename or "").name)
    return m.group(0).lower() if m else ""


def temp_path(filename: str | None, tmp_dir: str | None) -> str:
    """A new empty temporary file for an upload named ``filename`` (its extension kept); the caller removes it."""
    fd, path = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=_suffix(filename), dir=tmp_dir or None)
    os.close(fd)
    return path


def copy_upload(upload: UploadFile, path: str) -> None:
    """The upload's bytes into ``path`` (blocking: run it on a worker)."""
    with open(path, "wb") as out:
        upload.file.seek(0)
        shutil.copyfileobj(upload.file, out, 1 << 20)


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
