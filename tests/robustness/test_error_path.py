"""The one error path of ``asr.cli.main``: tracebacks only when asked for, signals and OS errors as one line."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asr.cli import main as asr_main
from asr.io import InputError, check_output_dir, check_text_file, describe_os_error, read_text


def test_debug_flag_and_env_show_the_traceback(tmp_path, monkeypatch):
    argv = ["features", str(tmp_path / "nodata"), str(tmp_path / "feats"), "--n-mels", "0"]
    assert asr_main(argv) == 1
    with pytest.raises(ValueError, match="n_mels=0 must be > 0"):
        asr_main(["--debug", *argv])
    monkeypatch.setenv("ASR_DEBUG", "1")
    with pytest.raises(ValueError, match="n_mels=0 must be > 0"):
        asr_main(argv)
    monkeypatch.setenv("ASR_DEBUG", "0")
    assert asr_main(argv) == 1


def test_a_full_disk_is_one_line_naming_the_file():
    with pytest.raises(OSError) as info, open("/dev/full", "w") as f:  # noqa: PT012 -- the write or the flush fails
        f.write("x" * 10)
        f.flush()
    assert info.value.errno == errno.ENOSPC
    info.value.filename = "/data/out/hyp.txt"  # what open() of a real output would carry
    line = describe_os_error(info.value)
    assert line.startswith("/data/out/hyp.txt: No space left on device (disk full: free some space and rerun")
    assert "\n" not in line


def test_text_helpers_name_the_line(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"\xef\xbb\xbfone\ntwo caf\xe9\n")
    with pytest.raises(InputError, match=r"t.txt:2: byte 0xe9 is not UTF-8"):
        read_text(p)
    p.write_bytes(b"\xef\xbb\xbfone\ntwo\n")
    assert read_text(p) == "one\ntwo\n"  # the byte-order mark is not part of the first line
    check_text_file(p)
    big = tmp_path / "big.txt"
    big.write_bytes(("é" * 40000).encode())  # the probe ends inside a character: still text
    check_text_file(big)
    with pytest.raises(InputError, match="the output directory is a file"):
        check_output_dir(p)


def test_sigterm_while_reading_stdin_leaves_no_copy(assets, tmp_path):
    """``asr transcribe -`` copies stdin to a temporary file; SIGTERM must not leave it behind."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "asr.cli", "transcribe", "-m", str(assets["model"]), "--greedy",
                             "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        proc.stdin.write(Path(assets["speech"]).read_bytes()[:20000])  # part of a file: the rest never comes
        proc.stdin.flush()
        deadline = time.time() + 60
        while not list(tmp_path.glob("asr-stdin-*")):
            assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else "timeout"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert not list(tmp_path.glob("asr-stdin-*"))
    assert "terminated (SIGTERM)" in err.decode() and "Traceback" not in err.decode()
