import re

import pytest

from asr.text.normalize import normalize_text, number_to_words, ordinal_to_words, year_to_words
from asr.text.units import BLANK, CharTokenizer

OUTPUT = re.compile(r"(?:[a-z']+(?: [a-z']+)*)?")  # [a-z'] words, single spaces, no edge spaces


@pytest.mark.parametrize(("raw", "expected"), [
    ("Hello, World!", "hello world"),
    ("Don't stop -- O'Brien's café", "don't stop o'brien's cafe"),
    ("'quoted' words", "quoted words"),
    ("It cost 1,250 dollars in 1905",
     "it cost one thousand two hundred fifty dollars in nineteen oh five"),
    ("50% & more", "fifty percent and more"),
    ("  many\tspaces\n", "many spaces"),
    ("\u2018curly\u2019 it\u2019s", "curly it's"),
    ("", ""),
])
def test_normalize(raw, expected):
    assert normalize_text(raw) == expected


ORDINALS = [
    ("1st 2nd 3rd 4th", "first second third fourth"),
    ("the 21st and 101st", "the twenty first and one hundred first"),
    ("12th 20th 1,000th", "twelfth twentieth one thousandth"),
    ("2ND place", "second place"),
]
YEARS = [
    ("in 1905", "in nineteen oh five"),
    ("in 1990.", "in nineteen ninety"),
    ("2000 and 2008", "two thousand and two thousand eight"),
    ("since 2019, yes", "since twenty nineteen yes"),
    ("the year 1900", "the year nineteen hundred"),
    ("the 1990s", "the nineteen nineties"),
    ("the '90s and the 60's", "the nineties and the sixties"),
    ("the \u201990s", "the nineties"),
    ("the 1800s", "the eighteen hundreds"),
    ("1990-1995", "nineteen ninety to nineteen ninety five"),
    ("from 1914 \u2013 1918", "from nineteen fourteen to nineteen eighteen"),
    ("1990-95", "nineteen ninety to ninety five"),
    # Not years: outside 1100-2099, thousands separator, unit, part of a larger number, currency.
    ("1066", "one thousand sixty six"),
    ("2100", "two thousand one hundred"),
    ("1,999 people", "one thousand nine hundred ninety nine people"),
    ("2000 km", "two thousand kilometers"),
    ("1500%", "one thousand five hundred percent"),
    ("19905", "nineteen thousand nine hundred five"),
    ("1990.5", "one thousand nine hundred ninety point five"),
    ("$1999", "one thousand nine hundred ninety nine dollars"),
    ("No. 1984", "number one thousand nine hundred eighty four"),
    ("call 555-1234", "call five hundred fifty five one thousand two hundred thirty four"),
]
MONEY = [
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$3.50", "three dollars fifty cents"),
    ("$3.5", "three dollars fifty cents"),
    ("$0.99", "ninety nine cents"),
    ("$0.01", "one cent"),
    ("$1.00", "one dollar"),
    ("$.50", "fifty cents"),
    ("$1,250", "one thousand two hundred fifty dollars"),
    ("$3.999", "three point nine nine nine dollars"),
    ("\u00a320", "twenty pounds"),
    ("\u00a32.50", "two pounds fifty pence"),
    ("\u20ac5", "five euros"),
    ("\u00a5500", "five hundred yen"),
    ("$2 million", "two million dollars"),
    ("$1.5bn and $5M", "one point five billion dollars and five million dollars"),
    ("50\u00a2", "fifty cents"),
    ("-$5", "minus five dollars"),
]
NUMBERS = [
    ("3.14", "three point one four"),
    ("0.5 and .5", "zero point five and point five"),
    ("-5 and 5-10", "minus five and five ten"),
    ("12.5%", "twelve point five percent"),
    ("1/2 3/4 2/3", "one half three quarters two thirds"),
    ("1\u00bd cups", "one and a half cups"),
    ("1 1/4 miles", "one and a quarter miles"),
    ("5/16 and 24/7", "five over sixteen and twenty four over seven"),
    ("12/25/2020", "twelve twenty five two thousand twenty"),
    ("10:30 7:05", "ten thirty seven oh five"),
    ("10:00 and 14:00", "ten o'clock and fourteen hundred"),
    ("10:30 a.m. or 9pm", "ten thirty a m or nine p m"),
    ("John 3:16", "john three sixteen"),
    ("1,000,000", "one million"),
    ("12,3456", "twelve three thousand four hundred fifty six"),
    ("007", "zero zero seven"),
    ("1234567890123456789",
     "one two three four five six seven eight nine zero one two three four five six seven eight nine"),
]
ABBREVIATIONS = [
    ("Mr. and Mrs. Smith met Ms. Jones", "mister and missus smith met miz jones"),
    ("Dr. Who and Mr Bean", "doctor who and mister bean"),
    ("St. Louis is on Main St. downtown", "saint louis is on main street downtown"),
    ("at 5th St. today", "at fifth street today"),
    ("Martin Luther King Jr. and Sr. staff", "martin luther king junior and senior staff"),
    ("Prof. Gen. Capt. Lt. Col. Sgt. Mt. Everest",
     "professor general captain lieutenant colonel sergeant mount everest"),
    ("cats vs. dogs, Kramer vs Kramer", "cats versus dogs kramer versus kramer"),
    ("apples, pears, etc. E.g. this, i.e. that", "apples pears et cetera for example this that is that"),
    ("at 5 a.m. or 7 P.M.", "at five a m or seven p m"),
    ("No. 5 but no. and #1 or #hashtag", "number five but no and number one or hashtag"),
    ("Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sept. Oct. Nov. Dec.",
     "january february march april june july august september october november december"),
    ("J. R. R. Tolkien", "j r r tolkien"),
    ("Mrs Dalloway, etcetera", "missus dalloway etcetera"),
]
UNITS = [
    ("5 km and 1 km", "five kilometers and one kilometer"),
    ("5km 2.5 kg 10cm 3 mm", "five kilometers two point five kilograms ten centimeters three millimeters"),
    ("100 m and a m", "one hundred meters and a m"),
    ("3 lbs 1 lb 8 oz", "three pounds one pound eight ounces"),
    ("6 ft 1 ft", "six feet one foot"),
    ("12in screen, 5 in the box", "twelve inches screen five in the box"),
    ("60 mph or 100 kph", "sixty miles per hour or one hundred kilometers per hour"),
    ("-5\u00b0C and 90\u00b0", "minus five degrees celsius and ninety degrees"),
    ("I'm 5", "i'm five"),
]
SYMBOLS_AND_PUNCTUATION = [
    ("AT&T", "at and t"),
    ("C++ a=b me@example", "c plus plus a equals b me at example"),
    ("well-known and/or self--taught", "well known and or self taught"),
    ("\u201cHi\u201d \u2018there\u2019 \u2014 it\u2019s", "hi there it's"),
    ("don't o'clock rock'n'roll", "don't o'clock rock'n'roll"),
    ("James' car and the dogs' bones", "james' car and the dogs' bones"),
    ("'the dogs' said", "the dogs said"),
    ("`It's funny,' he said", "it's funny he said"),
    ("rock 'n' roll", "rock n roll"),
    ("Stra\u00dfe \u00c6r\u00f8 na\u00efve", "strasse aero naive"),
    ("\u2212 3", "three"),
]
TRICKY = ORDINALS + YEARS + MONEY + NUMBERS + ABBREVIATIONS + UNITS + SYMBOLS_AND_PUNCTUATION
# Odd fragments with no single right answer: they only have to stay in the alphabet and be stable.
ODD_INPUTS = ["5etc", "_etc_", "'etc'", "o'etc", "1990s's", "''''", "' ' '", "$", "1.", "3:", ":30", "1/0", "x-5",
              "--5", "1,2,3", "1990-", "-1990", "#", "No.", "St.", "a.m.", "\u00bd\u00bd", "1e10", "A4", "'90",
              "90's'", "he said 'hi' and 'yes'", "Dr.'s orders", "I.B.M.", "\u2153 and 11\u2154", "$-5", "5 %",
              "10:61", "25:00", "\u00a3", "1 1/2/3", "'00s", "0th", "Sept.11"]


@pytest.mark.parametrize(("raw", "expected"), TRICKY)
def test_normalize_rules(raw, expected):
    assert normalize_text(raw) == expected


def test_idempotent_and_in_alphabet():
    for raw in [r for r, _ in TRICKY] + ODD_INPUTS:
        # In context too: inside a sentence, quoted, bracketed, upper-cased, glued to neighbours.
        for text in (raw, f"The {raw} is", f"'{raw}'", f"({raw}).", raw.upper(), raw.lower(), f"x{raw}9"):
            once = normalize_text(text)
            assert OUTPUT.fullmatch(once), (text, once)
            assert normalize_text(once) == once, (text, once)


def test_ordinal_and_year_words():
    assert ordinal_to_words(1) == "first" and ordinal_to_words(22) == "twenty second"
    assert ordinal_to_words(40) == "fortieth" and ordinal_to_words(1_000_000) == "one millionth"
    assert year_to_words(1905) == "nineteen oh five" and year_to_words(2019) == "twenty nineteen"
    assert year_to_words(2000) == "two thousand" and year_to_words(1100) == "eleven hundred"


def test_number_to_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(21) == "twenty one"
    assert number_to_words(100) == "one hundred"
    assert number_to_words(2_000_017) == "two million seventeen"
    assert number_to_words(3 * 10**12 + 5) == "three trillion five"
    assert number_to_words(-7) == "minus seven"


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
