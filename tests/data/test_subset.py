import os

from asr.cli import main
from asr.data.datadir import read_datadir, validate_datadir, write_datadir


def test_subset_by_speaker_prefix_count_and_hours(tiny_corpus, tmp_path):
    src = read_datadir(tiny_corpus / "train")
    spk = sorted(set(src.utt2spk.values()))[0]
    assert main(["subset-data", str(tiny_corpus / "train"), str(tmp_path / "one"), "--speaker-prefix", spk]) == 0
    one = read_datadir(tmp_path / "one")
    assert set(one.utt2spk.values()) == {spk} and validate_datadir(tmp_path / "one") == []
    assert main(["subset-data", str(tiny_corpus / "train"), str(tmp_path / "few"), "--first", "3"]) == 0
    assert read_datadir(tmp_path / "few").utt_ids == sorted(src.utt_ids)[:3]
    assert main(["subset-data", str(tiny_corpus / "train"), str(tmp_path / "short"), "--hours", "0.005"]) == 0
    assert 0 < read_datadir(tmp_path / "short").total_hours() <= 0.005


def test_subset_errors_name_the_problem(tiny_corpus, tmp_path, caplog):
    ids = tmp_path / "ids"
    ids.write_text("no-such-utt\n")
    assert main(["subset-data", str(tiny_corpus / "train"), str(tmp_path / "x"), "--utt-list", str(ids)]) == 1
    assert "not in" in caplog.text and "no-such-utt" in caplog.text
    assert main(["subset-data", str(tiny_corpus / "train"), str(tmp_path / "y"), "--speaker-prefix", "zzz"]) == 1
    assert "selection is empty" in caplog.text


def test_subset_of_relative_paths_works_from_elsewhere(tiny_corpus, tmp_path):
    src = read_datadir(tiny_corpus / "train")
    rel = src.subset(src.utt_ids[:2])
    rel.wav = {u: os.path.relpath(src.audio_path(u), tiny_corpus / "rel_train") for u in rel.wav}
    write_datadir(rel, tiny_corpus / "rel_train")  # wav.scp entries relative to the data dir (../wav/...)
    assert read_datadir(tiny_corpus / "rel_train").wav[rel.utt_ids[0]].startswith("..")
    assert main(["subset-data", str(tiny_corpus / "rel_train"), str(tmp_path / "sub"), "--first", "1"]) == 0
    sub = read_datadir(tmp_path / "sub")
    assert sub.audio_path(sub.utt_ids[0]).is_file()
