import pytest

from asr.text.normalize import normalize_text, number_to_words
from asr.text.units import BLANK, CharTokenizer


@pytest.mark.parametrize(("raw", "expected"), [
    ("Hello, World!", "hello world"),
    ("Don't stop -- O'Brien's café", "don't stop o'brien's cafe"),
    ("'quoted' words", "quoted words"),
    ("It cost 1,250 dollars in 1905",
     "it cost one thousand two hundred fifty dollars in one thousand nine hundred five"),
    ("50% & more", "fifty percent and more"),
    ("  many\tspaces\n", "many spaces"),
    ("\u2018curly\u2019 it\u2019s", "curly it's"),
    ("", ""),
])
def test_normalize(raw, expected):
    assert normalize_text(raw) == expected


def test_number_to_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(21) == "twenty one"
    assert number_to_words(100) == "one hundred"
    assert number_to_words(2_000_017) == "two million seventeen"


def test_char_tokenizer_roundtrip(tmp_path):
    tok = CharTokenizer()
    assert tok.symbols[0] == BLANK and tok.blank_id == 0
    ids = tok.encode("it's a test")
    assert 0 not in ids
    assert tok.decode(ids) == "it's a test"
    tok.save(tmp_path / "tokens.txt")
    assert CharTokenizer.load(tmp_path / "tokens.txt").symbols == tok.symbols


def test_char_tokenizer_rejects_unknown_character():
    with pytest.raises(ValueError, match="'7'"):
        CharTokenizer().encode("route 7")
