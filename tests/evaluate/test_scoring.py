import json

import pytest

from asr.cli import main as asr_main
from asr.evaluate.scoring import ScoringError, format_report, score


def test_counts_and_alignment(tmp_path):
    refs = {"u1": "the cat sat", "u2": "hello world"}
    hyps = {"u1": "the bat sat down", "u2": ""}
    r = score(refs, hyps, tmp_path)
    assert (r.wer.substitutions, r.wer.deletions, r.wer.insertions, r.wer.ref_len) == (1, 2, 1, 5)
    assert r.wer.error_rate == pytest.approx(4 / 5)
    assert r.cer.ref_len == len("the cat sat") + len("hello world")
    per_utt = (tmp_path / "per_utt.txt").read_text()
    assert "REF: the CAT sat ****\nHYP: the BAT sat DOWN\n         S       I" in per_utt
    assert per_utt.index("u2 wer=100.0%") < per_utt.index("u1 wer=66.7%")  # worst first
    assert json.loads((tmp_path / "wer.json").read_text())["wer"]["deletions"] == 2
    assert "%WER 80.00" in format_report(r)


def test_perfect_and_missing_hypothesis():
    assert score({"a": "x y"}, {"a": "x y"}).wer.error_rate == 0.0
    assert score({"a": "x y"}, {}).wer.deletions == 2


@pytest.mark.parametrize(("refs", "hyps", "msg"), [
    ({"a": ""}, {"a": "x"}, "empty"),
    ({}, {}, "no reference"),
    ({"a": "x"}, {"b": "x"}, "no reference"),
])
def test_bad_input_is_an_error_not_a_number(refs, hyps, msg):
    with pytest.raises(ScoringError, match=msg):
        score(refs, hyps)


def test_cli(tmp_path, capsys):
    (tmp_path / "ref").write_text("a one two three\nb four\n")
    (tmp_path / "hyp").write_text("a one too three\nb four\n")
    assert asr_main(["score", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--out-dir", str(tmp_path / "o")]) == 0
    assert "%WER 25.00 [ 1 / 4, 0 ins, 0 del, 1 sub ]" in capsys.readouterr().out
