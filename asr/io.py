"""Files written whole or not at all, and file digests.

Every output of a long job goes through :func:`atomic_path`: the writer fills a temporary file
beside the target, which is renamed over it only when complete, so a killed job never leaves a
half-written file under the real name (and a reader sees the old file or the new one).

Bad input is reported the same way everywhere: an :class:`InputError` whose message is one line
naming the file (and line or key), the cause and the fix; ``asr.cli`` prints it without a traceback.
The helpers below read text and check output locations so that the message names the file.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, which is not thread-safe while workers run.
_UMASK = _umask()


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block ends without error.

    On error the temporary file is removed and ``path`` keeps its old content. ``fsync`` flushes the
    data to disk before the rename (checkpoints, feature stores: files that must survive a crash).
    The temporary name ends in ``.tmp`` (never ``.wav``, ``.json``...), so globs do not pick it up.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        _plain_mode(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _plain_mode(tmp: Path) -> None:
    # Some writers create private files (safetensors: 0600; mkstemp); an output is read by others like
    # any file the user writes, so it gets the mode the umask gives (executables keep their x bits).
    try:
        st = os.stat(tmp)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode) and not st.st_mode & 0o111:
        wanted = 0o666 & ~_UMASK
        if stat.S_IMODE(st.st_mode) != wanted:
            os.chmod(tmp, wanted)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", fsync: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, fsync) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, fsync) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (model weights can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ bad input


class InputError(ValueError):
    """Bad input, said in one line: the file (and line or field), the cause, and the fix where there is one.

    A ValueError, so that callers which catch ValueError for bad input keep working.
    """


def closest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to a misspelt ``name``, else ''."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def unknown_keys_error(where: str, unknown: Iterable[str], known: Iterable[str]) -> InputError:
    """The one message for keys a file (or section) may not have: a misspelt key must not be ignored,
    since its setting would silently fall back to the default."""
    unknown, known = sorted(unknown), sorted(known)
    hints = "".join(closest(k, known) for k in unknown[:3])
    return InputError(f"{where}: unknown key(s) {unknown}{hints}; known: {known}")


def _undecodable(path: str | os.PathLike, line: int, byte: int, error: type[InputError] = InputError) -> InputError:
    return error(f"{path}:{line}: byte 0x{byte:02x} is not UTF-8 (the file must be UTF-8 text; "
                 f"convert it, e.g. `iconv -f latin1 -t utf-8`)")


def utf8_lines(path: str | os.PathLike, error: type[InputError] = InputError,
               on_bom: Callable[[], None] | None = None) -> Iterator[tuple[int, str]]:
    """``(line number, line with its newline)`` of a UTF-8 text file, streamed; a byte that is not UTF-8 is an
    ``error`` naming the file and line (never silently replaced: a latin-1 "café" would become a unit of its
    own); a byte-order mark on line 1 is dropped (it is not part of the first id or word), and ``on_bom``
    called if given."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _undecodable(path, lineno, raw[e.start], error) from None
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
                if on_bom is not None:
                    on_bom()
            yield lineno, line


def read_json_object(path: str | os.PathLike, what: str = "a JSON object") -> dict:
    """A JSON file that must hold an object; invalid JSON or another type is an InputError naming the file."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected {what}, got {type(data).__name__}")
    return data


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file's content; a byte that is not UTF-8 is an InputError naming the file and line.

    A leading byte-order mark is dropped (editors on Windows write one; it is not part of the first id).
    """
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _undecodable(path, data.count(b"\n", 0, e.start) + 1, data[e.start]) from None


def check_text_file(path: str | os.PathLike, probe_bytes: int = 1 << 16) -> None:
    """Refuse a file that is not text (a PNG, a wav, a compressed file) before a long job reads it as text."""
    with open(path, "rb") as f:
        head = f.read(probe_bytes)
    nul = head.find(b"\0")
    if nul >= 0:
        raise InputError(f"{path}: not a text file (binary data: NUL byte at offset {nul})")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if len(head) < probe_bytes or e.start < len(head) - 3:  # not just a character cut by the probe's end
            raise _undecodable(path, head.count(b"\n", 0, e.start) + 1, head[e.start]) from None


def check_output_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Create ``path`` if needed and check that files can be written in it, before any long work.

    A probe file is written and removed: permission bits alone do not tell (root ignores them; a
    read-only mount does not show in them).
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{p}: the {what} is a file, not a directory; give a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".asr-write-probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"{p}: the {what} cannot be written ({e.strerror or e}); choose another") from None
    return p


def describe_os_error(e: OSError) -> str:
    """One line for an OSError, naming its file: disk full and permission problems say what to do."""
    where = e.filename or ""
    if e.filename2:
        where = f"{where} -> {e.filename2}"
    cause = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        cause += " (disk full: free some space and rerun; finished outputs are kept, none is half-written)"
    elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        cause += " (choose a writable location, or fix the permissions)"
    return f"{where}: {cause}" if where else cause
