"""The transcribe command and the decode -> score stages, on a model that memorized 4 utterances."""

import numpy as np
import soundfile as sf

from asr.cli import main as asr_main
from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.transcribe import load_model


def test_transcribe_any_format_rate_and_channels(overfit_run, tmp_path, capsys):
    dd = read_datadir(overfit_run["data"])
    utt = dd.utt_ids[0]
    wave = load_audio(dd.audio_path(utt))
    # The same speech as 44.1 kHz stereo FLAC and 8-bit-free 22.05 kHz OGG: resampled and mixed down.
    import soxr
    stereo = np.stack([soxr.resample(wave, 16000, 44100)] * 2, axis=1)
    sf.write(tmp_path / "a.flac", stereo, 44100)
    sf.write(tmp_path / "b.ogg", soxr.resample(wave, 16000, 22050), 22050)
    rec = load_model(overfit_run["model_dir"], device="cpu")
    assert rec.transcribe(wave) == overfit_run["texts"][utt]
    assert rec.transcribe(tmp_path / "a.flac") == overfit_run["texts"][utt]
    assert asr_main(["transcribe", str(overfit_run["model_dir"]), str(tmp_path / "a.flac")]) == 0
    assert capsys.readouterr().out.strip() == overfit_run["texts"][utt]


def test_transcribe_bad_files_reported_others_still_done(overfit_run, tmp_path, capsys):
    dd = read_datadir(overfit_run["data"])
    good = str(dd.audio_path(dd.utt_ids[1]))
    (tmp_path / "notes.wav").write_text("not audio at all")
    args = ["transcribe", str(overfit_run["model_dir"]), str(tmp_path / "missing.wav"),
            str(tmp_path / "notes.wav"), str(tmp_path), good]
    assert asr_main(args) == 1
    out = capsys.readouterr()
    assert f"{good}\t{overfit_run['texts'][dd.utt_ids[1]]}" in out.out
    assert "missing.wav: no such file" in out.err
    assert "notes.wav: not a readable audio file" in out.err
    assert "is a directory" in out.err


def test_decode_and_score_stages(overfit_run, tmp_path, capsys):
    out = tmp_path / "decode"
    assert asr_main(["decode", str(overfit_run["model_dir"]), str(overfit_run["data"]), str(out)]) == 0
    assert asr_main(["score", str(overfit_run["data"] / "text"), str(out / "hyp.txt"), "--out-dir", str(out)]) == 0
    assert "%WER 0.00" in capsys.readouterr().out
    assert (out / "per_utt.txt").read_text().count("REF: ") == 4
