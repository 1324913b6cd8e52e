"""``asr combine-data OUT SRC...``: several data directories as one (Kaldi's utils/combine_data.sh).

Audio paths become absolute, so the result can live anywhere. Utterance ids must be unique across
the sources (they are, for splits of one corpus imported by ``asr import``). ``text.orig`` is
combined too when every source has one.
"""

from __future__ import annotations

import os
from pathlib import Path

from asr.data.datadir import DataDir, DataDirError, read_datadir, validate_datadir, write_datadir
from asr.data.importers.common import ORIG_TEXT_FILE, sort_disagreements


def combine_datadirs(srcs: list[str | os.PathLike], out_dir: str | os.PathLike) -> DataDir:
    res, origin = DataDir(), {}
    for src in srcs:
        dd = read_datadir(src)
        for u in dd.utt_ids:
            if u in origin:
                raise DataDirError(f"{src}: utterance {u!r} is also in {origin[u]}")
            origin[u] = src
            res.wav[u] = os.path.abspath(dd.audio_path(u))
            res.text[u] = dd.text.get(u, "")
            res.utt2spk[u] = dd.utt2spk[u]
            if u in dd.utt2dur:
                res.utt2dur[u] = dd.utt2dur[u]
    if len(res.utt2dur) != len(res.wav):  # a partial utt2dur would fail validation downstream
        res.utt2dur = {}
    bad = sort_disagreements(res.utt2spk)
    if bad:
        raise DataDirError(f"combining {srcs}: speaker ids collide across sources (order breaks at {bad[:3]})")
    out = Path(out_dir)
    write_datadir(res, out)
    origs = [Path(s) / ORIG_TEXT_FILE for s in srcs]
    if all(p.is_file() for p in origs):
        lines = sorted((line for p in origs for line in p.read_text(encoding="utf-8").splitlines()),
                       key=lambda line: line.split(maxsplit=1)[0])
        (out / ORIG_TEXT_FILE).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    else:
        (out / ORIG_TEXT_FILE).unlink(missing_ok=True)
    problems = validate_datadir(out, check_audio=False)
    if problems:
        raise DataDirError(f"{out}: combined data dir is invalid: {problems[:3]}")
    return res
