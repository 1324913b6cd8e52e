from pathlib import Path

import pytest

from asr.data.synth import default_prompts_path
from asr.text.normalize import normalize_text
from asr.text.prompts import (
    extract_fortune_sentences,
    extract_wordnet_sentences,
    fortune_sentences,
    iter_fortune_entries,
    load_prompt_sources,
    load_prompts,
    main,
    split_sentences,
)

WORDNET = Path("/usr/share/wordnet")
FORTUNES = Path("/usr/share/games/fortunes")

HEADER = "  1 This software and database is being provided to you, the LICENSEE\n"
NOUN = (
    '00001 03 n 01 dog 0 000 | a domestic animal; "the dog barked all night"; "Dogs bark"\n'
    '00002 03 n 01 cat 0 000 | a pet; "The dog barked all night!"; "the cat (Felis) sat"\n'
    '00003 03 n 01 agency 0 000 | a bureau; "the FBI opened a file"; "he moved to the U.S. last year"\n'
    '00004 03 n 01 year 0 000 | a period; "it happened in 1905 in the town"; "she has 3 cats at home"\n'
    '00005 03 n 01 typo 0 000 | unbalanced; "an example with a missing quote\n'
    '00006 03 n 01 speech 0 000 | talk; "`It\'s funny about that bar,\' he said musingly"\n'
)
VERB = '00007 29 v 01 run 0 000 | move fast; "run to the store"; "a x b is not c"\n'


@pytest.fixture
def fake_wordnet(tmp_path):
    (tmp_path / "data.noun").write_text(HEADER + NOUN, encoding="latin-1")
    (tmp_path / "data.verb").write_text(HEADER + VERB, encoding="latin-1")
    (tmp_path / "data.adj").write_text(HEADER, encoding="latin-1")
    (tmp_path / "data.adv").write_text(HEADER, encoding="latin-1")
    return tmp_path


def test_extract_cleans_filters_dedups_and_sorts(fake_wordnet):
    got = extract_wordnet_sentences(fake_wordnet)
    assert got == [
        "It's funny about that bar,' he said musingly",
        "run to the store",
        "she has 3 cats at home",
        "The dog barked all night!",  # duplicate of "the dog barked all night": smallest raw form kept
    ]
    # Dropped: "Dogs bark" (2 words), brackets, acronym, dotted abbreviation, a 4-digit year,
    # the unbalanced gloss, stray single letters.
    assert [normalize_text(s) for s in got] == sorted(normalize_text(s) for s in got)


def test_missing_wordnet_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.noun"):
        extract_wordnet_sentences(tmp_path)


def test_load_prompts_skips_blank_and_comment_lines(tmp_path):
    p = tmp_path / "p.txt"
    p.write_text("# comment\n first one \n\nsecond\n", encoding="utf-8")
    assert load_prompts(p) == ["first one", "second"]


def test_shipped_prompts_are_clean():
    sentences = load_prompts(default_prompts_path())
    assert len(sentences) > 20000
    normalized = [normalize_text(s) for s in sentences]
    assert len(set(normalized)) == len(normalized)
    assert all(3 <= len(t.split()) <= 30 for t in normalized)
    assert normalized == sorted(normalized)
    assert (default_prompts_path().parent / "WORDNET_LICENSE").is_file()


@pytest.mark.skipif(not (WORDNET / "data.noun").is_file(), reason="wordnet-base not installed")
def test_shipped_file_is_reproducible(tmp_path):
    out = tmp_path / "s.txt"
    assert main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == default_prompts_path().read_text(encoding="utf-8")


FORTUNE_FILE = """A friend is a present you give yourself
\t\t-- Robert Louis Stevenson
%
Mr. Smith moved to St. Louis in 1905.  He paid $3.50 for the *whole* house!
"Really?" she asked.  "Yes."
%
He asked me what time it was -- I said yes, but not right now.
\t\t-- Steven Wright
%
A:\tThe Royal Canadian Mounted Police.
Q:\tWhat was the greatest achievement in taxidermy?
%
<joey> I'm not here.  Go away now please.
%
See http://www.example.com for all the details you need.
%
while (x < 10) { x++; }
%
THE FBI IS WATCHING YOU ALL.  The CIA knows about it too.  This sentence is fine though.
%
Nobody will ever need more than 640K of memory.  Too short.  It was the best of times, said he. -- Bill Gates
%
A long sentence that keeps going and going, with more words than anyone would want to read aloud in a
single breath, because it simply never seems to end at all, not even once, until now.
%
The great- est show on earth is a fine show.  We saw the most wonder-
ful things.
%
_\bH_\be said it was fine, and that was all there was to it.
%
He ordered a caf\u00e9 au lait at the bar.  Then he left the bar happily.
%
ASCII-only dialog from the MP3 player and the B52 bomber was loud.
%
J. R. R. Tolkien wrote a very long book.  We read it on Jan. 5 with Dr. Jones.
%
A friend is a present you give yourself.
%
He said: no.
%
"You know what, I think so.  You know," he says, "I really trust my wife.  She is very nice."  We left it there.
"""


def test_split_sentences_keeps_abbreviations_and_initials():
    assert split_sentences("J. R. R. Tolkien wrote it. Then e.g. Mr. Jones came. Wow... He left! Ok? \"Yes.\" No") == [
        "J. R. R. Tolkien wrote it.", "Then e.g. Mr. Jones came.", "Wow...", "He left!", "Ok?", '"Yes."', "No"]


def test_fortune_extractor_on_tricky_entries(tmp_path):
    (tmp_path / "mixed").write_text(FORTUNE_FILE, encoding="utf-8")
    entries = list(iter_fortune_entries(tmp_path / "mixed"))
    assert len(entries) == 18 and entries[0].startswith("A friend") and "%" not in "".join(entries)
    assert [fortune_sentences(e) for e in entries] == [
        ["A friend is a present you give yourself."],  # attribution cut, missing period added
        ["Mr. Smith moved to St. Louis in 1905.", "He paid $3.50 for the whole house!", '"Really?" she asked.'],
        ["He asked me what time it was -- I said yes, but not right now."],  # "--" inside prose kept
        [],  # Q:/A: dialogue
        [],  # IRC log
        [],  # URL
        [],  # code
        ["This sentence is fine though."],  # all-caps and acronym sentences dropped
        ["It was the best of times, said he."],  # "640K" reads "k"; inline attribution cut; too short
        [],  # longer than MAX_WORDS
        [],  # word hyphenated across a line break
        ["He said it was fine, and that was all there was to it."],  # overstrike removed
        ["Then he left the bar happily."],  # non-ASCII letter
        [],  # acronym, letters glued to digits
        ["We read it on Jan. 5 with Dr. Jones."],  # stray initials dropped, abbreviations kept
        ["A friend is a present you give yourself."],
        [],  # "He said:" looks like a speaker
        ["You know what, I think so.", "She is very nice.", "We left it there."],  # quotes out of step dropped
    ]
    got = extract_fortune_sentences(tmp_path, files=("mixed",), exclude={"he paid three dollars fifty cents for "
                                                                       "the whole house"})
    keys = [normalize_text(s) for s in got]
    assert keys == sorted(set(keys)) and len(got) == 12  # 14 kept above, minus one duplicate and one excluded
    assert "He paid $3.50 for the whole house!" not in got
    with pytest.raises(FileNotFoundError, match="fortunes"):
        extract_fortune_sentences(tmp_path, files=("missing",))


def test_load_prompt_sources_dedups_across_files_first_wins(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("The dog barked.\nIt cost $5.\nthe dog barked\n", encoding="utf-8")
    b.write_text("# other source\nIt cost five dollars!\nA new one\n\nThe Dog Barked\n", encoding="utf-8")
    assert load_prompt_sources([a, b]) == ["The dog barked.", "It cost $5.", "A new one"]
    assert load_prompt_sources([b, a]) == ["It cost five dollars!", "A new one", "The Dog Barked"]


def test_cli_fortunes_excludes_other_sources(tmp_path):
    fdir = tmp_path / "fortunes"
    fdir.mkdir()
    (fdir / "mixed").write_text(FORTUNE_FILE, encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("a friend is a present you give yourself\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("asr.text.prompts.FORTUNE_FILES", ("mixed",))
        assert main(["--source", "fortunes", "--fortune-dir", str(fdir), "--exclude", str(other), "--", str(out)]) == 0
    got = load_prompts(out)
    assert len(got) == 12 and "A friend is a present you give yourself." not in got


def test_shipped_fortunes_are_clean_and_disjoint_from_wordnet():
    text_dir = default_prompts_path().parent
    fortunes = load_prompts(text_dir / "fortune_sentences.txt")
    assert len(fortunes) > 5000
    assert (text_dir / "FORTUNES_LICENSE").is_file()
    normalized = [normalize_text(s) for s in fortunes]
    assert normalized == sorted(set(normalized))
    assert all(3 <= len(t.split()) <= 30 for t in normalized)
    assert not set(normalized) & {normalize_text(s) for s in load_prompts(default_prompts_path())}


@pytest.mark.skipif(not (FORTUNES / "people").is_file(), reason="fortunes not installed")
def test_shipped_fortunes_file_is_reproducible(tmp_path):
    out = tmp_path / "f.txt"
    assert main(["--source", "fortunes", "--exclude", str(default_prompts_path()), "--", str(out)]) == 0
    shipped = default_prompts_path().parent / "fortune_sentences.txt"
    assert out.read_text(encoding="utf-8") == shipped.read_text(encoding="utf-8")
