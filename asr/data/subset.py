"""``asr subset-data SRC OUT``: part of a data directory (Kaldi's utils/subset_data_dir.sh).

Select by speaker-id prefix (``--speaker-prefix flite_``: one engine of a synthetic corpus), by a
list of utterance ids (``--utt-list FILE``), and/or the first ``--first N`` utterances (sorted ids)
or the first ``--hours H`` of audio; the selections combine (intersection, then the limit). Audio
paths become absolute, as in ``asr combine-data``.
"""

from __future__ import annotations

import os
from pathlib import Path

from asr.data.datadir import DataDir, read_datadir, write_datadir


def subset_datadir(src: str | os.PathLike, out: str | os.PathLike, speaker_prefix: str | None = None,
                   utt_list: str | os.PathLike | None = None, first: int = 0, hours: float = 0.0) -> DataDir:
    dd = read_datadir(src)
    utts = sorted(dd.utt_ids)
    if speaker_prefix:
        utts = [u for u in utts if dd.utt2spk[u].startswith(speaker_prefix)]
    if utt_list:
        lines = Path(utt_list).read_text(encoding="utf-8").split("\n")
        wanted = {line.split()[0] for line in lines if line.strip()}
        unknown = sorted(wanted - set(dd.utt_ids))
        if unknown:
            raise ValueError(f"{utt_list}: {len(unknown)} utterance(s) not in {src}, e.g. {unknown[:3]}")
        utts = [u for u in utts if u in wanted]
    if first:
        utts = utts[:first]
    if hours:
        if not dd.utt2dur:
            raise ValueError(f"{src}: --hours needs utt2dur")
        total, keep = 0.0, []
        for u in utts:
            total += dd.utt2dur[u]
            if total > hours * 3600.0:
                break
            keep.append(u)
        utts = keep
    if not utts:
        raise ValueError(f"{src}: the selection is empty")
    sub = dd.subset(utts)
    # Relative wav.scp entries are relative to SRC: made absolute, the subset works from anywhere.
    sub.wav = {u: str(dd.audio_path(u).resolve()) for u in sub.wav}
    write_datadir(sub, out)
    return sub
