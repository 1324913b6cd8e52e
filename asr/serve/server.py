"""uvicorn serving an app: in the foreground (``asr serve``) or in a background thread on a free port (tests, bench)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

STARTUP_TIMEOUT_S = 60.0  # the lifespan starts the engine; the model is loaded before
SHUTDOWN_TIMEOUT_S = 10.0  # requests still running get this long to finish


def run(app, host: str, port: int, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM); requests running then get SHUTDOWN_TIMEOUT_S to finish."""
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S)


class BackgroundServer:
    """``with BackgroundServer(app) as srv: requests to srv.url``: uvicorn in a daemon thread, on a port
    the kernel picks (``port=0``) or the one given."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level,
                                                    timeout_graceful_shutdown=SHUTDOWN_TIMEOUT_S))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="asr-serve-uvicorn")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(SHUTDOWN_TIMEOUT_S + 5)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
