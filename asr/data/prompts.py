"""Prompt sentences for the synthetic corpus: WordNet 3.0 usage examples.

WordNet glosses end with quoted usage examples, e.g. the ``data.noun`` line for *dog* ends
``| a member of the genus Canis ...; "the dog barked all night"``. Those examples are short,
natural, varied English sentences with a permissive licence (see ``data/text/WORDNET_LICENSE``),
which makes them a good prompt source for a synthetic speech corpus.

``sents.vrb`` (the verb-frame templates such as ``The children %s to the playground``) is not
used: it holds ~170 templates that would only yield near-identical sentences.

Regenerate the shipped file with::

    python -m asr.data.prompts data/text/wordnet_sentences.txt
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from asr.text.normalize import normalize_text

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


def clean_example(raw: str) -> str | None:
    """Tidy one quoted example; return None when it should be skipped."""
    s = " ".join(raw.split()).strip(" \"'`")
    if not s or not _ALLOWED.match(s):
        return None
    if _ACRONYM.search(s) or _LONG_NUMBER.search(s) or _DOTTED.search(s) or _ABBREVIATION.search(s):
        return None
    words = normalize_text(s).split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return None
    if any(len(w) == 1 and w not in _SINGLE_LETTERS_OK for w in words):
        return None  # stray letters: "a x b", "u s" -- not sentences a speaker would say
    return s


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


def load_prompts(path: str | os.PathLike) -> list[str]:
    """Read prompts, one per line; blank lines and ``#`` comment lines are ignored."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]


def write_prompts(sentences: list[str], path: str | os.PathLike) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    os.replace(tmp, p)
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m asr.data.prompts",
        description="Extract WordNet usage examples as prompt sentences, one per line.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("out", help="output text file")
    ap.add_argument("--wordnet-dir", default=DEFAULT_WORDNET_DIR, help="directory holding data.noun etc.")
    args = ap.parse_args(argv)
    sentences = extract_wordnet_sentences(args.wordnet_dir)
    write_prompts(sentences, args.out)
    print(f"wrote {len(sentences)} sentences to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
