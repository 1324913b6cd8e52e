from pathlib import Path

import pytest

from asr.data.prompts import extract_wordnet_sentences, load_prompts, main
from asr.data.synth import default_prompts_path
from asr.text.normalize import normalize_text

WORDNET = Path("/usr/share/wordnet")

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
