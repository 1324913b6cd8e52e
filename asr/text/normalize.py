"""Text normalization shared by corpus building, training targets and scoring.

Output alphabet: lowercase ``a-z``, apostrophe and single spaces. English written forms are read
out the way a speaker would say them:

* numbers: cardinals (``42`` -> ``forty two``), ordinals (``21st`` -> ``twenty first``), years
  (``1905`` -> ``nineteen oh five``, ``2019`` -> ``twenty nineteen``, ``1990-95``), decades
  (``1990s``, ``'90s``), decimals, negatives, fractions (``3/4`` -> ``three quarters``), times
  (``7:05`` -> ``seven oh five``), thousands separators;
* money (``$3.50`` -> ``three dollars fifty cents``, ``$2 million``, ``50¢``), units after a
  number (``5 km`` -> ``five kilometers``), percent and a few symbols;
* abbreviations (``Mr.``, ``Dr.``, ``St.``, ``e.g.``, ``a.m.``, ``No. 5``, ``Jan.``, ...);
* apostrophes: kept inside words (``don't``, ``o'clock``) and after a plural possessive
  (``james'``), dropped when they are quotation marks.

Everything else (punctuation, hyphens and slashes between words, other symbols) becomes a word
break. The rules run in a fixed order on the cased text, most specific first; each one turns the
digits it reads into words, so later (more general) rules never see them again. The output holds
no digits, periods or capitals, which no rule matches, so ``normalize_text`` is idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_IRREGULAR_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                       "nine": "ninth", "twelve": "twelfth"}
_MAX_CARDINAL_DIGITS = 15  # longer digit strings (phone numbers, ids) are read digit by digit
_YEAR_RANGE = (1100, 2099)  # a standalone 4-digit number in this range is read as a year

# Characters mapped before anything else: typographic quotes, dashes and minus signs.
_PUNCT_MAP = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'", "`": "'",
    "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-", "\u2014": " -- ",
    "\u2015": " -- ", "\u2044": "/", "\u00a0": " ",
    # Letters NFKD does not decompose.
    "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE", "\u00f8": "o", "\u00d8": "O",
    "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D", "\u00f0": "d", "\u00d0": "D", "\u00fe": "th",
    "\u00de": "Th", "\u0131": "i",
})
_VULGAR_FRACTION_RE = re.compile("[\u00bc-\u00be\u2150-\u215e]")  # ½ -> " 1/2 " (NFKD alone gives 1½ -> 11/2)
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals ", "\u00d7": " times ",
            "\u00b0": " degrees "}

# Abbreviations read the same wherever they occur; written with their period, case-sensitive.
ABBREVIATIONS = {
    "Mr.": "mister", "Mrs.": "missus", "Ms.": "miz", "Dr.": "doctor", "Prof.": "professor", "Jr.": "junior",
    "Sr.": "senior", "Gen.": "general", "Capt.": "captain", "Lt.": "lieutenant", "Col.": "colonel",
    "Sgt.": "sergeant", "Mt.": "mount", "Rev.": "reverend", "Ave.": "avenue",
    "Jan.": "january", "Feb.": "february", "Mar.": "march", "Apr.": "april", "Jun.": "june", "Jul.": "july",
    "Aug.": "august", "Sep.": "september", "Sept.": "september", "Oct.": "october", "Nov.": "november",
    "Dec.": "december",
}
# Case-insensitive ones; the final period is optional for "etc" and "vs". Bounded by non-letters only
# (not \b), so that an "etc" left over after punctuation is stripped cannot appear in the output.
_LATIN_ABBREVIATIONS = {r"e\.\s?g\.": "for example", r"i\.\s?e\.": "that is", r"etc\.?": "et cetera",
                        r"vs\.?": "versus", r"a\.\s?m\.": "a m", r"p\.\s?m\.": "p m"}
_TITLES_WITHOUT_PERIOD = ("Mr", "Mrs", "Ms", "Dr")  # British style "Mr Smith", only before a capitalized word

# Currency symbol -> (unit, units, subunit, subunits); a None subunit means decimals are read out.
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "\u00a3": ("pound", "pounds", "penny", "pence"),
               "\u20ac": ("euro", "euros", "cent", "cents"), "\u00a5": ("yen", "yen", None, None)}
_MONEY_SCALES = {"thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion",
                 "k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion"}
# Units read only right after a number (case-sensitive): symbol -> (singular, plural).
_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"), "m/s": ("meter per second", "meters per second"),
    "mph": ("mile per hour", "miles per hour"), "kph": ("kilometer per hour", "kilometers per hour"),
    "km": ("kilometer", "kilometers"), "kg": ("kilogram", "kilograms"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "mg": ("milligram", "milligrams"), "ml": ("milliliter", "milliliters"),
    "mi": ("mile", "miles"), "m": ("meter", "meters"), "lbs": ("pound", "pounds"), "lb": ("pound", "pounds"),
    "oz": ("ounce", "ounces"), "ft": ("foot", "feet"),
    "\u00b0C": ("degree celsius", "degrees celsius"), "\u00b0F": ("degree fahrenheit", "degrees fahrenheit"),
    "\u00b0": ("degree", "degrees"),
}
_ATTACHED_ONLY_UNITS = {"in": ("inch", "inches")}  # "12in" but not "5 in the box"
_FRACTION_DENOMINATORS = range(2, 11)  # 3/4 -> three quarters; other denominators: "x over y"

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+"  # 1,000,000  3.14  .5
_INT = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_YEAR = r"1[1-9]\d\d|20\d\d"
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_NOT_AFTER_NUMBER = r"(?![\w])(?![.,:/]\d)"  # the number ends here: no letters, no decimal/comma/time part

_ABBREVIATION_RE = re.compile(r"(?<![\w.])(" + "|".join(re.escape(a[:-1]) for a in ABBREVIATIONS) + r")\.")
_LATIN_RE = [(re.compile(r"(?<![A-Za-z])" + p + r"(?![A-Za-z])", re.I), w) for p, w in _LATIN_ABBREVIATIONS.items()]
_TITLE_RE = re.compile(r"(?<![\w.])(" + "|".join(_TITLES_WITHOUT_PERIOD) + r")(?=\s+[A-Z])")
_SAINT_STREET_RE = re.compile(r"(?<![\w.])St\.")
_NUMBER_SIGN_RE = re.compile(r"(?<![\w.])(?:[Nn]o\.|#)\s?(?=\d)")
_AM_PM_RE = re.compile(r"(?<=\d)\s?([AaPp])\.?[Mm]\b\.?")
_NEGATIVE_RE = re.compile(r"(?<![\w.,])-(?=[$\u00a3\u20ac\u00a5]?\.?\d)")
_MONEY_RE = re.compile(r"([$\u00a3\u20ac\u00a5])\s?(" + _NUM + r")(?:\s?(thousand|million|billion|trillion)\b|"
                       r"(k|K|m|M|mn|bn|b|B)(?![\w]))?")
_CENTS_RE = re.compile(r"(" + _INT + r")\s?\u00a2")
_TIME_RE = re.compile(r"(?<![\d:.])([01]?\d|2[0-4]):([0-5]\d)(?![\d:])(\s*[ap] m\b)?")
_FRACTION_RE = re.compile(r"(?<![\d/.,])(?:(\d{1,3})\s+)?(\d+)/(\d+)(?![\d/]|[.,]\d)")
_DECADE_RE = re.compile(r"(?<![\w'])'([1-9]0)s\b|(?<![\w.,])([1-9]\d{0,2}0)'?s\b")
_ORDINAL_RE = re.compile(r"(?<![\w.])(" + _INT + r")(st|nd|rd|th)\b", re.I)
_YEAR_RANGE_RE = re.compile(r"(?<![\w.,:/])(?<!\d-)(" + _YEAR + r")\s?-\s?(" + _YEAR + r"|\d\d)" + _NOT_AFTER_NUMBER)
_YEAR_ALONE_RE = re.compile(r"(?<![\w.,:/])(?<!\d-)(?<!number )(" + _YEAR + r")" + _NOT_AFTER_NUMBER
                            + r"(?!-\d)(?!\s?%)(?!\s?(?:" + _UNIT_ALT + r")(?![\w]))")
_UNIT_RE = re.compile(r"(?<![\w.])(" + _NUM + r")(?:\s?(" + _UNIT_ALT + r")|(" + "|".join(_ATTACHED_ONLY_UNITS)
                      + r"))(?![\w])")
_NUMBER_RE = re.compile(_NUM)


def number_to_words(n: int) -> str:
    """Spell an integer in English words (``1905`` -> ``one thousand nine hundred five``)."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return number_to_words(head) + " " + name + ("" if rest == 0 else " " + number_to_words(rest))
    raise AssertionError("unreachable")


def ordinal_to_words(n: int) -> str:
    """``21`` -> ``twenty first``, ``100`` -> ``one hundredth``."""
    head, _, last = number_to_words(n).rpartition(" ")
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


def year_to_words(n: int) -> str:
    """Read a year: ``1905`` -> ``nineteen oh five``, ``2000`` -> ``two thousand``, ``2019`` -> ``twenty nineteen``.

    2001-2009 are read ``two thousand eight``; other years as two pairs of digits.
    """
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return number_to_words(n)
    century, rest = divmod(n, 100)
    if rest == 0:
        return number_to_words(century) + " hundred"
    return number_to_words(century) + " " + _two_digits(rest)


def _two_digits(n: int) -> str:
    """The second half of a year or a time's minutes: ``5`` -> ``oh five``, ``42`` -> ``forty two``."""
    return ("oh " + _ONES[n]) if n < 10 else number_to_words(n)


def _digits(s: str) -> str:
    return " ".join(_ONES[int(c)] for c in s)


def _say_integer(s: str) -> str:
    """``1,000`` -> ``one thousand``; ``007`` and very long digit strings are read digit by digit."""
    s = s.replace(",", "")
    if (len(s) > 1 and s[0] == "0") or len(s) > _MAX_CARDINAL_DIGITS:
        return _digits(s)
    return number_to_words(int(s))


def _say_number(s: str) -> str:
    """``3.14`` -> ``three point one four``, ``.5`` -> ``point five``, ``1,200`` -> ``one thousand two hundred``."""
    whole, _, frac = s.partition(".")
    words = _say_integer(whole) if whole else ""
    return f"{words} point {_digits(frac)}".strip() if frac else words


def _plural(words: str) -> str:
    """Pluralize the last word of a number: ``nineteen ninety`` -> ``nineteen nineties``."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def _fraction(num: int, den: int, article: bool = False) -> str:
    """``1/2`` -> ``one half``, ``3/4`` -> ``three quarters``, ``24/7`` -> ``twenty four over seven``.

    Named only for small denominators and proper fractions (or halves); ``article`` reads a
    numerator of 1 as ``a`` (``one and a half``).
    """
    if den not in _FRACTION_DENOMINATORS or (num >= den and den != 2):
        return f"{number_to_words(num)} over {number_to_words(den)}"
    name = {2: "half", 4: "quarter"}.get(den) or ordinal_to_words(den)
    if num == 1:
        return ("a " if article else "one ") + name
    return number_to_words(num) + " " + ("halves" if den == 2 else name + "s")


def _spaced(f: Callable[[re.Match[str]], str]) -> Callable[[re.Match[str]], str]:
    """Pad a replacement with spaces so it never glues onto its neighbours."""
    return lambda m: f" {f(m)} "


@_spaced
def _money(m: re.Match[str]) -> str:
    one, many, sub_one, sub_many = _CURRENCIES[m.group(1)]
    amount = m.group(2).replace(",", "")
    scale = m.group(3) or m.group(4)
    if scale:
        return f"{_say_number(amount)} {_MONEY_SCALES[scale.lower()]} {many}"
    whole, _, frac = amount.partition(".")
    if sub_one is None or len(frac) > 2:
        return f"{_say_number(amount)} {one if amount == '1' else many}"
    units = int(whole or "0")
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if units or not cents:
        parts.append(f"{number_to_words(units)} {one if units == 1 else many}")
    if cents:
        parts.append(f"{number_to_words(cents)} {sub_one if cents == 1 else sub_many}")
    return " ".join(parts)


@_spaced
def _cents(m: re.Match[str]) -> str:
    n = m.group(1).replace(",", "")
    return f"{_say_integer(n)} {'cent' if n == '1' else 'cents'}"


@_spaced
def _time(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    am_pm = " " + m.group(3).strip() if m.group(3) else ""
    if minute:
        return f"{number_to_words(hour)} {_two_digits(minute)}{am_pm}"
    if am_pm:
        return number_to_words(hour) + am_pm
    return number_to_words(hour) + (" hundred" if hour > 12 else " o'clock")


@_spaced
def _fraction_match(m: re.Match[str]) -> str:
    whole, num, den = m.group(1), int(m.group(2)), int(m.group(3))
    if whole is None:
        return _fraction(num, den)
    return f"{_say_integer(whole)} and {_fraction(num, den, article=True)}"


@_spaced
def _decade(m: re.Match[str]) -> str:
    if m.group(1):  # '90s
        return _plural(number_to_words(int(m.group(1))))
    n = int(m.group(2))
    return _plural(year_to_words(n) if _YEAR_RANGE[0] <= n <= _YEAR_RANGE[1] else number_to_words(n))


@_spaced
def _ordinal(m: re.Match[str]) -> str:
    return ordinal_to_words(int(m.group(1).replace(",", "")))


@_spaced
def _year_range(m: re.Match[str]) -> str:
    end = m.group(2)
    return f"{year_to_words(int(m.group(1)))} to " + (year_to_words(int(end)) if len(end) == 4 else
                                                       _two_digits(int(end)))


@_spaced
def _year(m: re.Match[str]) -> str:
    return year_to_words(int(m.group(1)))


@_spaced
def _unit(m: re.Match[str]) -> str:
    number = m.group(1)
    one, many = _UNITS[m.group(2)] if m.group(2) else _ATTACHED_ONLY_UNITS[m.group(3)]
    return f"{_say_number(number)} {one if number == '1' else many}"


def _saint_or_street(m: re.Match[str]) -> str:
    """``St. Louis`` -> saint (before a capitalized name); ``Main St.`` / ``5th St.`` -> street."""
    before, after = m.string[:m.start()], m.string[m.end():]
    if re.match(r"\s+[A-Z]", after):
        return " saint "
    if re.search(r"(?:\b[A-Z][a-z]*|\d(?:st|nd|rd|th)?)\s+$", before):
        return " street "
    return " saint "


def _expand_abbreviations(text: str) -> str:
    text = _SAINT_STREET_RE.sub(_saint_or_street, text)
    text = _ABBREVIATION_RE.sub(lambda m: f" {ABBREVIATIONS[m.group(1) + '.']} ", text)
    text = _TITLE_RE.sub(lambda m: f" {ABBREVIATIONS[m.group(1) + '.']} ", text)
    for pattern, words in _LATIN_RE:
        text = pattern.sub(f" {words} ", text)
    text = _NUMBER_SIGN_RE.sub(" number ", text)
    return _AM_PM_RE.sub(lambda m: f" {m.group(1).lower()} m ", text)


def _expand_numbers(text: str) -> str:
    """Read every digit in ``text`` as words, most specific pattern first."""
    text = _NEGATIVE_RE.sub(" minus ", text)
    for pattern, read in ((_MONEY_RE, _money), (_CENTS_RE, _cents), (_TIME_RE, _time),
                          (_FRACTION_RE, _fraction_match), (_DECADE_RE, _decade), (_ORDINAL_RE, _ordinal),
                          (_YEAR_RANGE_RE, _year_range), (_YEAR_ALONE_RE, _year), (_UNIT_RE, _unit)):
        text = pattern.sub(read, text)
    return _NUMBER_RE.sub(lambda m: f" {_say_number(m.group())} ", text)


def _clean_apostrophes(text: str) -> str:
    """Keep apostrophes inside words and after a plural possessive; drop quotation marks.

    ``'quoted' words`` -> ``quoted words``, ``James' car`` -> ``james' car``. A trailing apostrophe
    after ``s`` is a possessive unless a quotation opened earlier is still open.
    """
    words, quote_open = [], False
    for token in text.split():
        core = re.sub(r"'{2,}", "'", token.strip("'"))
        if token.startswith("'") and core:
            quote_open = True
        if token.endswith("'"):
            if quote_open:
                quote_open = False
            elif core.endswith("s"):
                core += "'"
        if core:
            words.append(core)
    return " ".join(words)


def normalize_text(text: str) -> str:
    """Normalize a transcript to the ``[a-z' ]`` alphabet (see the module docstring)."""
    text = _VULGAR_FRACTION_RE.sub(lambda m: " " + unicodedata.normalize("NFKD", m.group()) + " ", text)
    text = unicodedata.normalize("NFKD", text.translate(_PUNCT_MAP)).translate(_PUNCT_MAP)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _expand_numbers(_expand_abbreviations(text)).lower()
    for sym, word in _SYMBOLS.items():
        text = text.replace(sym, word)
    return _clean_apostrophes(re.sub(r"[^a-z' ]+", " ", text))
