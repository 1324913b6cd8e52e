import numpy as np
import soundfile as sf

from asr.cli import main as asr_main
from asr.data.datadir import DataDir, read_datadir, validate_datadir, write_datadir


def _make(tmp_path, n=3):
    wav_dir = tmp_path / "wav"
    wav_dir.mkdir()
    dd = DataDir()
    for i in range(n):
        u = f"spk{i % 2}-utt{i}"
        p = wav_dir / f"{u}.wav"
        sf.write(p, np.random.default_rng(i).uniform(-0.1, 0.1, 8000).astype(np.float32), 16000)
        dd.wav[u], dd.text[u], dd.utt2spk[u], dd.utt2dur[u] = str(p), f"words {i}", f"spk{i % 2}", 0.5
    d = write_datadir(dd, tmp_path / "data")
    return d


def test_roundtrip_and_valid(tmp_path):
    d = _make(tmp_path)
    assert validate_datadir(d) == []
    dd = read_datadir(d)
    assert dd.utt_ids == sorted(dd.utt_ids) and len(dd) == 3
    assert (d / "spk2utt").read_text().splitlines()[0] == "spk0 spk0-utt0 spk0-utt2"
    assert abs(dd.total_hours() - 1.5 / 3600) < 1e-9


def test_every_problem_reported_with_file_and_line(tmp_path):
    d = _make(tmp_path)
    # missing audio, non-audio file, empty transcript, duplicate + unsorted ids, id missing from utt2spk
    lines = (d / "wav.scp").read_text().splitlines()
    (tmp_path / "junk.wav").write_text("this is not audio")
    lines[0] = lines[0].split()[0] + " " + str(tmp_path / "nowhere.wav")
    lines[1] = lines[1].split()[0] + " " + str(tmp_path / "junk.wav")
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    text = (d / "text").read_text().splitlines()
    text[2] = text[2].split()[0]
    text.append(text[0])
    (d / "text").write_text("\n".join(text) + "\n")
    u2s = (d / "utt2spk").read_text().splitlines()
    (d / "utt2spk").write_text("\n".join(u2s[:2]) + "\n")
    problems = "\n".join(validate_datadir(d))
    assert "wav.scp:1: audio of 'spk0-utt0' not found" in problems
    # sorted ids: spk0-utt0, spk0-utt2, spk1-utt1
    assert "wav.scp:2: audio of 'spk0-utt2' unreadable" in problems
    assert "text:3: empty transcript for 'spk1-utt1'" in problems
    assert "text:4: duplicate id 'spk0-utt0' (first on line 1)" in problems
    assert "'spk1-utt1' missing from utt2spk" in problems


def test_unsorted_and_missing_file(tmp_path):
    d = _make(tmp_path)
    lines = (d / "utt2dur").read_text().splitlines()
    (d / "utt2dur").write_text("\n".join(reversed(lines)) + "\n")
    (d / "utt2spk").unlink()
    problems = "\n".join(validate_datadir(d))
    assert "utt2dur:2: not sorted" in problems
    assert "utt2spk: missing" in problems


def test_cli_exit_status(tmp_path, capsys):
    d = _make(tmp_path)
    assert asr_main(["validate-data", str(d)]) == 0
    (d / "text").write_text("spk0-utt0\n")
    assert asr_main(["validate-data", str(d)]) == 1
    assert "empty transcript" in capsys.readouterr().out
