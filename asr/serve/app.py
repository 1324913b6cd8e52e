"""The Starlette app: ``POST /v1/audio/transcriptions``, ``GET /v1/models``, ``GET /health``, the page at ``/``,
and live transcription over the WebSocket ``/v1/audio/stream`` (asr.serve.streaming).

Every error is a JSON body in OpenAI's shape (asr.serve.errors): 400 bad field or undecodable audio,
401 missing/wrong API key, 413 upload or audio too large, 503 queue full (with Retry-After), 500 a
bug (logged; the server goes on). A request holds one of ``max_queue`` places from its first byte
to its response, so a flood is refused before its bodies are read.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from asr.data.audio import AudioError
from asr.serve.auth import bearer_token, key_matches
from asr.serve.engine import Engine
from asr.serve.errors import INVALID, SERVER, ApiError, error_body, overloaded
from asr.serve.openai_format import response_body
from asr.serve.streaming import StreamEndpoint
from asr.serve.upload import copy_upload, read_form, remove, temp_path

log = logging.getLogger(__name__)
PAGE = Path(__file__).resolve().parent / "static" / "index.html"


def create_app(engine: Engine, model_id: str, api_key: str | None = None, streaming=None) -> Starlette:
    """The server of ``engine``'s model, named ``model_id`` in /v1/models; ``api_key``: required Bearer token;
    ``streaming``: a StreamingRecognizer for ``/v1/audio/stream`` (asr.serve.streaming), or None."""
    cfg = engine.cfg
    created = int(time.time())
    page = PAGE.read_text()
    active = 0  # requests admitted and not yet answered

    def check_key(request: Request) -> None:
        if not key_matches(api_key, bearer_token(request.headers.get("authorization", ""))):
            raise ApiError(401, "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                           code="invalid_api_key")

    async def transcriptions(request: Request) -> Response:
        nonlocal active
        check_key(request)
        if active >= cfg.max_queue:
            raise overloaded(cfg.max_queue)
        active += 1
        try:
            form = await read_form(request, cfg.max_upload_bytes)
            name = Path(form.file.filename or "upload").name
            path = temp_path(name, cfg.tmp_dir)
            try:
                await engine.run(copy_upload, form.file, path)
                transcript = await engine.transcribe(path, source=name)
            except AudioError as e:  # its message names the temporary file: name the upload instead
                raise ApiError(400, f"cannot decode the audio: {str(e).replace(path, name)}", param="file",
                               code="invalid_audio") from None
            finally:
                remove(path)
                await form.close()
        finally:
            active -= 1
        body, media_type = response_body(transcript, form.response_format, form.granularities)
        return Response(body, media_type=media_type)

    def model_card() -> dict:
        return {"id": model_id, "object": "model", "created": created, "owned_by": "asr"}

    async def models(request: Request) -> Response:
        check_key(request)
        return JSONResponse({"object": "list", "data": [model_card()]})

    async def model(request: Request) -> Response:
        check_key(request)
        if request.path_params["model"] != model_id:
            raise ApiError(404, f"model {request.path_params['model']!r} does not exist (this server has "
                                f"{model_id!r})", param="model", code="model_not_found")
        return JSONResponse(model_card())

    async def health(request: Request) -> Response:
        ok = engine.healthy
        return JSONResponse({"status": "ok" if ok else "error", "model": model_id, "active_requests": active,
                             "streaming": streaming is not None, "active_streams": stream_endpoint.active,
                             "max_queue": cfg.max_queue, "workers": cfg.n_workers, "batches": engine.batches},
                            200 if ok else 503)

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await engine.start()
        yield
        await engine.stop()

    stream_endpoint = StreamEndpoint(streaming, cfg.max_streams, api_key)
    routes = [Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
              WebSocketRoute("/v1/audio/stream", stream_endpoint.handle),
              Route("/v1/models", models), Route("/v1/models/{model}", model),
              Route("/health", health), Route("/", index)]
    handlers = {ApiError: _api_error, HTTPException: _http_error, Exception: _server_error}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


async def _api_error(request: Request, e: ApiError) -> Response:
    return JSONResponse(e.body(), e.status, headers=e.headers)


async def _http_error(request: Request, e: HTTPException) -> Response:
    """Starlette's own refusals (404, 405, a malformed multipart body) in OpenAI's shape."""
    return JSONResponse(error_body(str(e.detail), INVALID if e.status_code < 500 else SERVER), e.status_code,
                        headers=e.headers)


async def _server_error(request: Request, e: Exception) -> Response:
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(e).__name__, e)
    return JSONResponse(error_body(f"internal error: {type(e).__name__}: {e}", SERVER), 500)
