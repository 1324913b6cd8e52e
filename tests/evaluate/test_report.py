"""Per-speaker scores, most frequent errors, summary.json, and the Markdown/HTML reports."""

import json
import os
import re
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from asr.cli import main as asr_main
from asr.evaluate.scoring import ScoringError, evaluate, read_transcripts

REFS = {"u1": "the cat sat on the mat", "u2": "a cat and a dog", "u3": "the cat ran", "u4": "hello world"}
HYPS = {"u1": "the bat sat on the mat", "u2": "a bat and dog", "u3": "the cat ran away", "u4": ""}
SPK = {"u1": "alice", "u2": "alice", "u3": "bob", "u4": "bob"}


def test_speakers_and_top_errors():
    ev = evaluate(REFS, HYPS, SPK)
    # alice: u1 1 sub / 6, u2 1 sub + 1 del / 5 -> 3 / 11; bob: u3 1 ins / 3, u4 2 del / 2 -> 3 / 5.
    spk = {s.speaker: s for s in ev.speakers}
    assert (spk["alice"].ref_words, spk["alice"].substitutions, spk["alice"].deletions) == (11, 2, 1)
    assert spk["alice"].wer == pytest.approx(3 / 11) and spk["bob"].wer == pytest.approx(3 / 5)
    assert [s.speaker for s in ev.speakers] == ["bob", "alice"]  # worst first
    assert ev.substitutions[0] == ("cat", "bat", 2)
    assert dict(ev.deletions) == {"a": 1, "hello": 1, "world": 1}
    assert ev.insertions == [("away", 1)]
    assert ev.report.wer.ref_len == 16 and ev.report.wer.error_rate == pytest.approx(6 / 16)
    assert any("empty" in w and "'u4'" in w for w in ev.warnings)


def test_empty_reference_names_file_and_line(tmp_path):
    (tmp_path / "ref").write_text("a one\nb\n")
    (tmp_path / "hyp").write_text("a one\nb two\n")
    with pytest.raises(ScoringError, match=r"ref:2: utterance 'b'"):
        evaluate(read_transcripts(tmp_path / "ref"), read_transcripts(tmp_path / "hyp"))
    (tmp_path / "empty").write_text("")
    with pytest.raises(ScoringError, match="empty:? no transcripts"):
        read_transcripts(tmp_path / "empty")


class _Audio(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.classes = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "audio":
            self.srcs.append(a["src"])
        if tag == "span" and a.get("class"):
            self.classes.append(a["class"])


def test_reports_on_a_real_data_dir(tiny_corpus, tmp_path, caplog):
    """`asr score --data-dir` on the tiny test set: every page link plays an existing wav."""
    data = tiny_corpus / "test"
    refs = read_transcripts(data / "text")
    utts = sorted(refs)
    hyp = dict(refs)
    hyp[utts[0]] = " ".join(refs[utts[0]].split()[1:]) + " extra <b>"  # a deletion, an insertion, HTML to escape
    hyp[utts[1]] = ""
    (tmp_path / "hyp.txt").write_text("".join(f"{u} {t}\n" for u, t in hyp.items()))
    out = tmp_path / "reports" / "test"
    assert asr_main(["score", str(data / "text"), str(tmp_path / "hyp.txt"), "--out-dir", str(out),
                     "--data-dir", str(data), "--title", "tiny <test>",
                     "--no-normalize"]) == 0  # as written: "<b>" must reach the report, escaped
    assert f"hyp.txt:2: utterance '{utts[1]}'" in caplog.text  # the empty hypothesis is named, not silent

    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_utts"] == len(utts) and len(summary["utterances"]) == len(utts)
    assert {s["speaker"] for s in summary["speakers"]} == set((data / "utt2spk").read_text().split()[1::2])
    assert summary["top_errors"]["insertions"][0]["hyp"] in ("extra", "<b>")
    assert summary["warnings"] and json.loads((out / "wer.json").read_text())["wer"]["ref_len"] == \
        summary["wer"]["ref_len"]

    page = (out / "report.html").read_text()
    assert "<b>" not in page.replace("<b>Warnings</b>", "") and "&lt;b&gt;" in page and "tiny &lt;test&gt;" in page
    parser = _Audio()
    parser.feed(page)
    assert len(parser.srcs) == len(utts)
    for src in parser.srcs:
        assert not os.path.isabs(unquote(src)) and (out / unquote(src)).resolve().is_file()
    assert {"D", "I"} <= set(parser.classes)
    md = (out / "report.md").read_text()
    assert "| WER |" in md and "## Per speaker" in md and md.count("```") == 4  # two utterances with errors
    link = re.search(r"\[audio\]\(([^)]+)\)", md).group(1)
    assert (out / unquote(link)).resolve().is_file()
    assert (out / "per_utt.txt").read_text().count("REF: ") == len(utts)
