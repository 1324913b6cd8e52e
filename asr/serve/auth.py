"""The API key check of every endpoint: ``Authorization: Bearer KEY`` (or, where a client cannot set
headers, as for a browser's WebSocket, a key given another way), compared in constant time."""

from __future__ import annotations

import hmac


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header value; '' for anything else."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_matches(api_key: str | None, given: str) -> bool:
    """True when the server needs no key, or ``given`` is it."""
    return not api_key or hmac.compare_digest(given.encode(), api_key.encode())
