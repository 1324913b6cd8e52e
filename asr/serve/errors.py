"""Errors as OpenAI's API returns them: ``{"error": {"message", "type", "param", "code"}}`` with an HTTP status."""

from __future__ import annotations

INVALID = "invalid_request_error"  # the client's fault (4xx)
SERVER = "server_error"  # ours (5xx)
RETRY_AFTER_S = 1  # what a 503 asks the client to wait: about one batch at full load


class ApiError(Exception):
    """A request that gets an error response; ``message`` is one line naming the cause."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type_: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_ or (INVALID if status < 500 else SERVER)
        self.headers = headers or {}

    def body(self) -> dict:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def overloaded(max_queue: int) -> ApiError:
    return ApiError(503, f"server busy: {max_queue} requests already queued; retry in {RETRY_AFTER_S} s",
                    code="server_overloaded", type_=SERVER, headers={"Retry-After": str(RETRY_AFTER_S)})
