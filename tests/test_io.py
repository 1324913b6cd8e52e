import hashlib

import pytest

from asr.io import atomic_path, atomic_write_bytes, atomic_write_text, file_sha256


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old\n")
    atomic_write_text(p, "new\n", fsync=True)
    assert p.read_text() == "new\n"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "out.json"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_text("half")
        assert tmp.name.endswith(".tmp") and tmp.parent == tmp_path
        raise RuntimeError("killed")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["out.json"]


def test_file_sha256_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 5000  # more than one 1 MiB block
    (tmp_path / "w").write_bytes(data)
    assert file_sha256(tmp_path / "w") == hashlib.sha256(data).hexdigest()
