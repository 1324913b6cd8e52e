"""KenLM's binary LM format: what the decoder loads in milliseconds instead of parsing an ARPA file.

KenLM reads an ARPA file line by line (0.5-0.6 s for the shipped 3-gram's 800k n-grams on 2 cores), but maps
a file written by its ``build_binary`` tool (``trie`` data structure: 8.4 MB for that LM, 63% of the
ARPA's size, the same scores) into memory at once. The decoder takes either (asr.decode.beam): a file is
binary when it starts with KenLM's header, whatever its name. ``build_binary`` is not installable from
PyPI; ``recipes/tools/install_kenlm.sh`` compiles it from KenLM's PyPI sources (g++, no Boost), and
``asr bundle --kenlm-build-binary`` uses it for the shipped model.

A binary LM holds no word list the decoder can read cheaply, so it needs its lexicon (``asr lm`` writes
``lexicon.txt`` beside ``lm.arpa``; ``lm.bin`` there has the same one), and only word LMs are supported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from asr.decode.ngram_lm import ArpaError
from asr.io import InputError

MAGIC = b"mmap lm "  # the first bytes of every KenLM binary file ("mmap lm http://kheafield.com/code format ...")
BINARY_NAME = "lm.bin"  # beside lm.arpa in an LM directory (asr lm) or a bundle
TOOL_ENV = "ASR_KENLM_BUILD_BINARY"  # where build_binary is, if not on PATH


def is_kenlm_binary(path: str | os.PathLike) -> bool:
    """True for a KenLM binary LM (by its header, not its name)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def find_build_binary(tool: str | os.PathLike | None = None) -> Path | None:
    """``tool``, else ``$ASR_KENLM_BUILD_BINARY``, else ``build_binary`` beside this Python (where
    recipes/tools/install_kenlm.sh installs it) or on PATH; None when there is none, or ``tool`` is "none"."""
    if str(tool) == "none":
        return None
    beside = Path(sys.executable).parent / "build_binary"
    candidate = tool or os.environ.get(TOOL_ENV) or (beside if beside.is_file() else shutil.which("build_binary"))
    if not candidate:
        return None
    path = Path(candidate)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise InputError(f"{path}: not an executable KenLM build_binary (recipes/tools/install_kenlm.sh "
                                "compiles one)")
    return path


def build_kenlm_binary(arpa: str | os.PathLike, out: str | os.PathLike, tool: str | os.PathLike) -> Path:
    """Write ``arpa`` as KenLM's unquantized ``trie`` binary to ``out`` (built beside it, then renamed)."""
    arpa, out = Path(arpa), Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        done = subprocess.run([str(tool), "trie", str(arpa), str(tmp)], capture_output=True, text=True)
        if done.returncode != 0 or not is_kenlm_binary(tmp):
            reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise ArpaError(f"{arpa}: KenLM's build_binary ({tool}) cannot convert it: {reason}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
