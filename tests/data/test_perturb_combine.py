"""``asr speed-perturb`` and ``asr combine-data`` on imported data directories."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from corpus_layouts import SENTENCES, speak

from asr.cli import main as asr_main
from asr.data.combine import combine_datadirs
from asr.data.datadir import DataDirError, read_datadir, validate_datadir
from asr.data.importers.folder import import_folder
from asr.data.perturb import speed_perturb


def test_speed_perturb_changes_length_and_pitch():
    sr = 16000
    t = np.arange(sr) / sr
    wave = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    fast = speed_perturb(wave, 1.1, sr)
    assert abs(len(fast) - sr / 1.1) <= 2
    peak = np.argmax(np.abs(np.fft.rfft(fast))) * sr / len(fast)
    assert abs(peak - 440 * 1.1) < 3  # pitch moves with speed (sox `speed`, not `tempo`)


def test_speed_perturb_datadir_and_combine(tmp_path):
    for spk, lo in (("ann", 0), ("bo", 2)):
        for i in range(lo, lo + 2):
            speak(SENTENCES[i], tmp_path / "src" / spk / f"u{i}.wav")
            (tmp_path / "src" / spk / f"u{i}.txt").write_text(SENTENCES[i])
    import_folder(tmp_path / "src", tmp_path / "data")
    out = tmp_path / "train_sp"
    assert asr_main(["speed-perturb", str(tmp_path / "data"), str(out), "--nj", "2"]) == 0
    assert validate_datadir(out) == []
    dd, src = read_datadir(out), read_datadir(tmp_path / "data")
    assert len(dd) == 3 * len(src)
    utt = "ann-u0"
    for f in (0.9, 1.1):
        new = f"sp{f:g}-{utt}"
        assert dd.utt2spk[new] == f"sp{f:g}-ann" and dd.text[new] == src.text[utt]
        assert abs(dd.utt2dur[new] - src.utt2dur[utt] / f) < 0.01
        assert sf.info(dd.audio_path(new)).format == "FLAC"
    # A rerun reuses the written copies (resume) and gives the same data dir.
    mtime = dd.audio_path(f"sp0.9-{utt}").stat().st_mtime_ns
    assert asr_main(["speed-perturb", str(tmp_path / "data"), str(out), "--nj", "1"]) == 0
    assert dd.audio_path(f"sp0.9-{utt}").stat().st_mtime_ns == mtime

    # Two speakers imported separately, combined into one (paths absolute, text.orig kept).
    for spk in ("ann", "bo"):
        import_folder(tmp_path / "src" / spk, tmp_path / f"data_{spk}")
    both = combine_datadirs([tmp_path / "data_ann", tmp_path / "data_bo"], tmp_path / "combined")
    assert both.utt_ids == src.utt_ids and validate_datadir(tmp_path / "combined") == []
    assert len((tmp_path / "combined" / "text.orig").read_text().splitlines()) == 4
    with pytest.raises(DataDirError, match="also in"):
        combine_datadirs([tmp_path / "data", out], tmp_path / "dup")
