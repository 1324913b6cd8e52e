"""Prompt sentences for the synthetic corpus: WordNet 3.0 usage examples and BSD fortune cookies.

WordNet glosses end with quoted usage examples, e.g. the ``data.noun`` line for *dog* ends
``| a member of the genus Canis ...; "the dog barked all night"``. Those examples are short,
natural, varied English sentences with a permissive licence (see ``asr/data/text/WORDNET_LICENSE``),
which makes them a good prompt source for a synthetic speech corpus.

``sents.vrb`` (the verb-frame templates such as ``The children %s to the playground``) is not
used: it holds ~170 templates that would only yield near-identical sentences.

The second source is the BSD ``fortune`` database (Debian package ``fortunes``, BSD licence, see
``asr/data/text/FORTUNES_LICENSE``): ``%``-separated entries of quotations, jokes and aphorisms. Entries
are split into sentences and only plain prose is kept (no attributions, dialogue, code, URLs,
acronyms or stray letters); see :func:`fortune_sentences`. Sentences already in WordNet (after
normalization) are left out, so the two files can be concatenated without duplicates; use
:func:`load_prompt_sources` to read several prompt files as one deduplicated list.

The shipped files live in the package (``asr/data/text/``, found by :mod:`asr.data.synth`); this module
is text processing only and imports nothing from :mod:`asr.data` (``asr lm-text`` reads the same sources).
Regenerate the shipped files with::

    python -m asr.text.prompts asr/data/text/wordnet_sentences.txt
    python -m asr.text.prompts --source fortunes --exclude asr/data/text/wordnet_sentences.txt \\
        asr/data/text/fortune_sentences.txt
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from asr.io import atomic_write_text
from asr.text.normalize import ABBREVIATIONS, normalize_text

DEFAULT_WORDNET_DIR = "/usr/share/wordnet"
POS_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
MIN_WORDS = 3
MAX_WORDS = 30

_QUOTED = re.compile(r'"([^"]*)"')
# Raw characters a kept example may contain. Anything else (brackets, $, /, +, =, non-ASCII
# letters, ...) marks an example that is either not plain prose or would be read oddly.
_ALLOWED = re.compile(r"^[A-Za-z0-9 ,.;:!?'`\-]+$")
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")  # FBI, NATO, II: espeak spells or guesses these
_LONG_NUMBER = re.compile(r"\d{3,}")  # years and big numbers read unnaturally once spelled out
_DOTTED = re.compile(r"\b[A-Za-z]\.[A-Za-z]")  # U.S., e.g.
_ABBREVIATION = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Gen|Col|Capt|Lt|vs|etc|cf|viz)\.", re.I)
_SINGLE_LETTERS_OK = {"a", "i", "o"}


def _speakable(s: str) -> bool:
    """MIN_WORDS..MAX_WORDS normalized words and no stray letters ("a x b", "u s", "j r r tolkien")."""
    words = normalize_text(s).split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return False
    return not any(len(w) == 1 and w not in _SINGLE_LETTERS_OK for w in words)


def clean_example(raw: str) -> str | None:
    """Tidy one quoted example; return None when it should be skipped."""
    s = " ".join(raw.split()).strip(" \"'`")
    if not s or not _ALLOWED.match(s):
        return None
    if _ACRONYM.search(s) or _LONG_NUMBER.search(s) or _DOTTED.search(s) or _ABBREVIATION.search(s):
        return None
    return s if _speakable(s) else None


def iter_wordnet_examples(wordnet_dir: str | os.PathLike = DEFAULT_WORDNET_DIR):
    """Yield every quoted usage example (raw text) from the WordNet data files."""
    d = Path(wordnet_dir)
    for name in POS_FILES:
        path = d / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: WordNet data file not found (Debian package wordnet-base)")
        with open(path, encoding="latin-1") as f:  # WordNet 3.0 files are ASCII plus a few latin-1 bytes
            for line in f:
                if line.startswith("  "):  # licence header
                    continue
                _, sep, gloss = line.partition(" | ")
                if not sep or gloss.count('"') % 2:  # no gloss, or unbalanced quotes (typos in WordNet)
                    continue
                yield from _QUOTED.findall(gloss)


def extract_wordnet_sentences(wordnet_dir: str | os.PathLike = DEFAULT_WORDNET_DIR) -> list[str]:
    """Example sentences from WordNet glosses, cleaned, deduplicated and sorted.

    Two examples that normalize to the same words are duplicates; the lexicographically smallest
    raw form is kept so the result does not depend on file order. Sorted by normalized text.
    """
    best: dict[str, str] = {}
    for raw in iter_wordnet_examples(wordnet_dir):
        s = clean_example(raw)
        if s is None:
            continue
        key = normalize_text(s)
        if key not in best or s < best[key]:
            best[key] = s
    return [best[k] for k in sorted(best)]


# --------------------------------------------------------------------------------------------
# BSD fortune cookies

DEFAULT_FORTUNE_DIR = "/usr/share/games/fortunes"
# Files of the Debian ``fortunes`` package that are used, by name. Left out: ascii-art (pictures),
# songs-poems (lyrics and verse), pratchett, startrek, zippy and magic (excerpts of single copyrighted
# works, or mostly so), translate-me (not English), riddles (Q:/A: pairs), debian, linux, knghtbrd and perl
# (IRC logs, code and jargon), ethnic (jokes about groups of people). An explicit list keeps the
# output independent of other packages that add files to the same directory.
FORTUNE_FILES = (
    "art", "computers", "cookie", "definitions", "disclaimer", "drugs", "education", "food", "fortunes",
    "goedel", "humorists", "kids", "law", "linuxcookie", "literature", "love", "medicine", "men-women",
    "miscellaneous", "news", "paradoxum", "people", "pets", "platitudes", "politics", "science", "sports", "tao",
    "wisdom", "work",
)

_OVERSTRIKE = re.compile(r".\x08")  # "_\bx" (underline) and "x\bx" (bold) -> "x"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")
_ATTRIBUTION = re.compile(r"^\s*(?:--|~)\s*\S", re.M)  # "\t\t-- Mark Twain" ends the quotation
_INLINE_ATTRIBUTION = re.compile(r"\s--\s?(?:[A-Z][\w.']*,?\s?){1,5}\Z")  # "... wins. -- Ann Other, Jr."
_EMPHASIS = re.compile(r"(?<!\w)([*_])(\w[^*_\n]*?)\1(?!\w)")  # *drives*, _really_ -> plain words
_SPEAKER = re.compile(r"^\s*(?:[A-Z][\w.' -]{0,30}|<[^>\n]{1,30}>|\[[^]\n]{1,30}\])\s*:(?:\s|$)", re.M)
_CODE_OR_URL = re.compile(r"[{}\[\]<>|\\/_=*#~^@]|https?:|www\.|\.(?:com|org|net|edu)\b")
_HYPHENATED_BREAK = re.compile(r"[A-Za-z]-\n")  # "some-\nthing": split word or compound, cannot tell
# Sentence end: terminal punctuation, optional closing quotes/brackets, space, then a capital/quote/digit.
_SENTENCE_END = re.compile(r"([.!?]+)([\"')]*)\s+(?=[\"'(]?[A-Z0-9])")
_NO_BREAK_BEFORE = {a[:-1] for a in ABBREVIATIONS} | {"St", "No", "vs", "etc", "e.g", "i.e", "a.m", "p.m"}
# Characters a kept fortune sentence may contain; quotes and $ % & are read by the normalizer.
_FORTUNE_ALLOWED = re.compile(r"^[A-Za-z0-9 ,.;!?'\"$%&-]+$")
_LETTER_THEN_DIGIT = re.compile(r"[A-Za-z]\d")  # MP3, B52, x2: read unpredictably
_SENTENCE_START = re.compile(r"^[\"']?[A-Z0-9]")
_SENTENCE_STOP = re.compile(r"[.!?][\"']?$")


def iter_fortune_entries(path: str | os.PathLike):
    """Yield the entries of one fortune file (text between lines holding only ``%``)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    entry: list[str] = []
    for line in text.splitlines():
        if line.strip() == "%":
            if entry:
                yield "\n".join(entry)
            entry = []
        else:
            entry.append(line)
    if entry:
        yield "\n".join(entry)


def split_sentences(text: str) -> list[str]:
    """Split prose at ``.``/``!``/``?`` followed by a capitalized word, except after abbreviations and initials."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group(1) == ".":
            word = re.search(r"(\S+)$", text[start:m.start()])
            w = word.group(1).lstrip("\"'(") if word else ""
            if w in _NO_BREAK_BEFORE or re.fullmatch(r"[A-Z]", w):  # Mr. Smith, J. R. R. Tolkien
                continue
        out.append(text[start:m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def clean_fortune_sentence(raw: str) -> str | None:
    """Tidy one sentence of a fortune; return None when it should be skipped."""
    s = " ".join(raw.split())
    if s.count('"') % 2:  # a quotation that started or ends in a neighbouring sentence
        s = s.strip('"').strip()
    if not s or s.count('"') % 2 or not _FORTUNE_ALLOWED.match(s):
        return None
    if not _SENTENCE_START.match(s) or not _SENTENCE_STOP.search(s):
        return None  # fragments, titles, continuations of a split that went wrong
    if _ACRONYM.search(s) or _LETTER_THEN_DIGIT.search(s):
        return None
    return s if _speakable(s) else None


def fortune_sentences(entry: str) -> list[str]:
    """The usable sentences of one fortune entry (raw text, in order).

    The attribution (``-- Author``) is cut off. Whole entries are dropped when they are dialogue
    (``A: ...``, ``<nick> ...``), code, URLs, or have words hyphenated across lines.
    """
    entry = _EMPHASIS.sub(r"\2", _OVERSTRIKE.sub("", entry))
    if _CONTROL.search(entry):
        return []
    cut = _ATTRIBUTION.search(entry)
    if cut:
        entry = entry[:cut.start()]
    entry = entry.strip()
    if not entry or _SPEAKER.search(entry) or _CODE_OR_URL.search(entry) or _HYPHENATED_BREAK.search(entry):
        return []
    text = _INLINE_ATTRIBUTION.sub("", " ".join(entry.split()))
    if text and text[-1].isalnum():
        text += "."  # "A friend is a present you give yourself" (before its attribution line)
    out, quoted = [], False  # quoted: the sentence starts inside a double-quoted passage
    for sentence in split_sentences(text):
        n = sentence.count('"')
        # Starting inside a quotation, only a sentence that at most closes it at its end is whole;
        # 'know," he says, "I really ...' is a piece of dialogue with its quotes out of step.
        if not quoted or n == 0 or (n == 1 and sentence.endswith('"')):
            cleaned = clean_fortune_sentence(sentence)
            if cleaned is not None:
                out.append(cleaned)
        quoted ^= n % 2 == 1
    return out


def extract_fortune_sentences(fortune_dir: str | os.PathLike = DEFAULT_FORTUNE_DIR,
                              files: tuple[str, ...] | None = None, exclude: set[str] | None = None) -> list[str]:
    """Sentences from the fortune files, cleaned, deduplicated and sorted like the WordNet ones.

    ``files``: names in ``fortune_dir`` (default :data:`FORTUNE_FILES`). ``exclude``: normalized
    sentences to leave out (e.g. those of another prompt source).
    """
    d = Path(fortune_dir)
    exclude = exclude or set()
    best: dict[str, str] = {}
    for name in FORTUNE_FILES if files is None else files:
        path = d / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: fortune file not found (Debian package fortunes)")
        for entry in iter_fortune_entries(path):
            for s in fortune_sentences(entry):
                key = normalize_text(s)
                if key not in exclude and (key not in best or s < best[key]):
                    best[key] = s
    return [best[k] for k in sorted(best)]


# --------------------------------------------------------------------------------------------
# Prompt files


def load_prompts(path: str | os.PathLike) -> list[str]:
    """Read prompts, one per line; blank lines and ``#`` comment lines are ignored."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]


def load_prompt_sources(paths: list[str | os.PathLike]) -> list[str]:
    """Read several prompt files as one list, deduplicated by normalized text.

    The first occurrence wins and order is kept (file by file, line by line), so a sentence shared
    by two sources can only land in one split of a corpus built from the list.
    """
    seen: set[str] = set()
    out = []
    for path in paths:
        for s in load_prompts(path):
            key = normalize_text(s)
            if key and key not in seen:
                seen.add(key)
                out.append(s)
    return out


def write_prompts(sentences: list[str], path: str | os.PathLike) -> Path:
    """Write one sentence a line, atomically (a killed run leaves the old file)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(p, "".join(s + "\n" for s in sentences))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m asr.text.prompts",
        description="Extract prompt sentences, one per line, from WordNet usage examples or BSD fortunes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("out", help="output text file")
    ap.add_argument("--source", choices=("wordnet", "fortunes"), default="wordnet", help="where sentences come from")
    ap.add_argument("--wordnet-dir", default=DEFAULT_WORDNET_DIR, help="directory holding data.noun etc.")
    ap.add_argument("--fortune-dir", default=DEFAULT_FORTUNE_DIR, help="directory holding the fortune files")
    ap.add_argument("--exclude", nargs="*", default=[], metavar="FILE",
                    help="prompt files whose sentences (after normalization) are left out")
    args = ap.parse_args(argv)
    exclude = {normalize_text(s) for s in load_prompt_sources(args.exclude)}
    if args.source == "wordnet":
        sentences = [s for s in extract_wordnet_sentences(args.wordnet_dir) if normalize_text(s) not in exclude]
    else:
        sentences = extract_fortune_sentences(args.fortune_dir, exclude=exclude)
    write_prompts(sentences, args.out)
    print(f"wrote {len(sentences)} sentences to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
