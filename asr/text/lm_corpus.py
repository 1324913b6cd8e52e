"""Word n-gram LM text for real read speech, built at run time from installed Debian packages.

The synthetic corpus' prompts (WordNet usage examples and fortune cookies, :mod:`asr.text.prompts`) are
short modern sentences; real read speech such as LibriSpeech is 19th and early 20th century books read
aloud. Packaged texts much closer to that, with licences that allow their use (:data:`SOURCES`):

``gcide-quotes``  Debian ``dict-gcide`` (GPL-2+): the GNU Collaborative International Dictionary of
                  English, built on Webster's Revised Unabridged Dictionary (1913). Its ~40k illustrative
                  quotations (Milton, Shakespeare, Dryden, Macaulay, ...), attributions cut: 0.43M words.
``gcide-notes``   the same dictionary's usage notes (``Note: ...`` paragraphs): 0.18M words of prose.
``austen``        Debian ``r-cran-janeaustenr`` (package MIT, texts in the public domain): Jane Austen's six
                  novels, 0.72M words, read from the R package's data files (R itself is not run).
``moby``          Debian ``r-cran-tokenizers`` (package MIT, text in the public domain): Herman Melville's
                  *Moby Dick*, Project Gutenberg's text (its licence header and footer cut), 0.21M words.

Not in :data:`DEFAULT_SOURCES`: ``gcide-defs``, the definitions (2.9M words: they cut the dev-set OOV
rate further but, pooled as they are, raise perplexity on read speech: dictionary style), and
``wordnet`` / ``fortunes``, the prompt sources of the synthetic corpus (Debian ``wordnet-base``,
``fortunes``). Measured on 250 LibriSpeech utterances with a 3-gram from ``asr lm``: the prompts alone
5.05% OOV, perplexity 843; the prompts and the default sources 2.65% OOV, perplexity 586. ``moby`` took the
recipe's real dev WER with the LM from 61.9% to 61.5% (same model and decoding); the King James Bible
(Debian ``bible-kjv-text``, 0.79M words) took it back to 61.9%, so it is not a source.

Output: one sentence per line, normalized with :func:`~asr.text.normalize.normalize_text`, ready for
``asr lm``. ``exclude`` drops every sentence that equals an evaluation utterance or shares a run of
:data:`EXCLUDE_NGRAM` words with one: public-domain books are read in speech corpora (5 of those 250
LibriSpeech utterances are from these Austen novels), and an LM must not hold the test text.

    asr lm-text exp/lm/text.txt --include data/synth/train --exclude data/synth/dev data/synth/realdev
    asr lm exp/lm/text.txt exp/lm --order 3
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from asr.config import option
from asr.io import atomic_path
from asr.text.normalize import normalize_text
from asr.text.prompts import (
    DEFAULT_FORTUNE_DIR,
    DEFAULT_WORDNET_DIR,
    extract_fortune_sentences,
    extract_wordnet_sentences,
    split_sentences,
)

DEFAULT_GCIDE = "/usr/share/dictd/gcide.dict.dz"
DEFAULT_AUSTEN_DIR = "/usr/lib/R/site-library/janeaustenr"
DEFAULT_TOKENIZERS_DIR = "/usr/lib/R/site-library/tokenizers"
AUSTEN_NOVELS = ("sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion")
EXCLUDE_NGRAM = 8  # a shared run of this many words marks a sentence as (part of) an evaluation utterance
MIN_WORDS = 3  # shorter GCIDE "sentences" are mostly table cells and word lists


# ----------------------------------------------------------------------------------------------- GCIDE

# "[1913 Webster]", "[PJC]", "[WordNet 1.5 +PJC]" end a block; run-in derived forms may follow on the line.
_SOURCE_TAG = re.compile(r"^\s*\[(?:[^\]]*(?:Webster|WordNet|PJC|Century)[^\]]*)\]\s*(.*)$")
_QUOTE_INDENT = 8  # quotations start 6 spaces right of their definition (9 or 12), definitions at 3 or 6
_LIGATURE = re.compile(r"\[(ae|oe|AE|OE)\]")
# Accent markup inside a word: r[^a]le, ["i], [=a], [a^], ['e], [.a], [~n] -> the letter.
_MARKED = r"\[[\"'`^=~.,*-]?([a-zA-Z])[\"'`^=~.,*-]?\]"
_ACCENT = re.compile(rf"(?<=[A-Za-z]){_MARKED}|{_MARKED}(?=[A-Za-z])")
_BRACKETED = re.compile(r"\[[^\[\]]*\]")  # [Obs.], [R.], etymologies
_LABEL = re.compile(r"\((?:[A-Z][a-z]*\.?\s?(?:&\s?)?)+\)")  # (Bot.), (Geom. & Crystallog.)
_ATTRIBUTION = re.compile(r"\s*--(?:[^\s-]|\s[A-Z0-9(])[^-]{0,60}$")  # "... heat. --Milton.", "-- Eph. v. 18.", "--p."
_INLINE_ATTRIBUTION = re.compile(r"--[A-Z][\w.]*(?:\s[A-Z][\w.]*)*\.?")  # "To infatuate. --Milton."
_SENSE = re.compile(r"^(?:\d+\.\s*)?(?:\([a-z]\)\s*)?")  # "2.", "(a)", "3. (b)"
_GARBLED = re.compile(r"\?\w|\w\?\w|\?\?|[\[\]\\|<>{}]|://")  # "?way": a letter the rendering lost; markup; URLs


@dataclass
class _Block:
    kind: str  # "head" (first block of an entry), "quote" or "def"
    lines: list[str]


def _gcide_blocks(lines: Iterable[str]) -> Iterator[_Block]:
    """Blocks of the dictd rendering: runs of lines between blank lines and source tags."""
    block: _Block | None = None
    started = False
    for raw in lines:
        line = raw.rstrip("\n")
        if not started:  # database headers and licence: entries start with "Word \Pro*nun"ci*a`tion\"
            started = bool(re.match(r"\S[^\\]*\\[^\\]+\\", line))
            if not started:
                continue
        tag = _SOURCE_TAG.match(line)
        if not line.strip() or tag:
            if block:
                yield block
            block = _Block("def", [tag.group(1)]) if tag and tag.group(1) else None
            continue
        indent = len(line) - len(line.lstrip())
        # A run-in derived form ("   -- {Fit"ful*ly}, adv.") right under a quotation starts a definition block.
        run_in = block is not None and block.kind == "quote" and line.lstrip().startswith("-- {")
        if indent == 0 or block is None or run_in:
            if block:
                yield block
            kind = "head" if indent == 0 else "quote" if indent >= _QUOTE_INDENT and not run_in else "def"
            block = _Block(kind, [line])
        else:
            block.lines.append(line)
    if block:
        yield block


def _strip_head(lines: list[str]) -> str:
    """The definition text of an entry's first block: the headword line(s) up to the etymology's end cut."""
    depth, keep_from = 0, len(lines)
    for i, line in enumerate(lines):
        depth = max(0, depth + line.count("[") - line.count("]"))
        if depth == 0:
            keep_from = i + 1
            break
    return " ".join(x.strip() for x in lines[keep_from:])


def _clean_gcide(text: str) -> str | None:
    s = _LIGATURE.sub(r"\1", text)
    s = _ACCENT.sub(lambda m: m.group(1) or m.group(2), s)
    s = _BRACKETED.sub(" ", s)
    s = _LABEL.sub(" ", s)
    s = _INLINE_ATTRIBUTION.sub(" ", s.replace("{", "").replace("}", ""))
    if _GARBLED.search(s):
        return None
    return " ".join(s.split())


GCIDE_KINDS = ("quote", "note", "def")


def gcide_sentences(path: str | os.PathLike = DEFAULT_GCIDE, kind: str = "quote") -> Iterator[str]:
    """Raw sentences of one kind of GCIDE text, in file order: ``"quote"``, the illustrative quotations;
    ``"note"``, the usage notes (``Note: ...`` paragraphs, prose about words); ``"def"``, the definitions.

    Reads the dictd database (``.dict.dz`` is gzip; a plain ``.dict`` works too) lazily, so taking the
    first sentences is cheap. Quotations lose their ``--Author.`` attribution; definitions lose sense
    numbers, field labels such as ``(Bot.)``, bracketed etymologies and ``[Obs.]`` marks; synonym lists
    (``Syn: ...``) are skipped. Text whose rendering lost characters (Greek, rare glyphs: ``?``) is skipped.
    """
    if kind not in GCIDE_KINDS:
        raise ValueError(f"kind must be one of {GCIDE_KINDS}, got {kind!r}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: GCIDE dictionary not found (Debian package dict-gcide: "
                                f"apt-get install dict-gcide)")
    opener = gzip.open if p.suffix in (".dz", ".gz") else open
    with opener(p, "rt", encoding="utf-8", errors="replace") as f:
        for block in _gcide_blocks(f):
            if block.kind == "head":
                text, bkind = _strip_head(block.lines), "def"
            else:
                text, bkind = " ".join(x.strip() for x in block.lines), block.kind
            if text.startswith("Note:"):
                text, bkind = text[len("Note:"):], "note"
            if bkind != kind or not text or text.startswith(("Syn.", "Syn:")):
                continue
            text = _ATTRIBUTION.sub("", text) if kind == "quote" else _SENSE.sub("", text.strip())
            cleaned = _clean_gcide(text)
            if cleaned:
                yield from split_sentences(cleaned)


# ---------------------------------------------------------------------------------------------- Austen


class RDataError(ValueError):
    """An R data file that this reader does not understand; the message names the file."""


class _RReader:
    """Just enough of R's XDR serialization (``serialize()``, format 2 and 3) to read a package's data index
    and its character vectors: NULL, symbols, pairlists, logical/integer/double/character vectors, lists."""

    def __init__(self, buf: bytes, name: str):
        self.buf, self.pos, self.name, self.refs = buf, 0, name, []
        if buf[:2] != b"X\n":
            raise RDataError(f"{name}: not an XDR R serialization (starts {buf[:2]!r})")
        self.pos = 2
        version = self.int()
        self.pos += 8  # writer's and minimal reader's R versions
        if version == 3:
            n = self.int()  # native encoding name
            self.pos += n
        elif version != 2:
            raise RDataError(f"{name}: R serialization format {version} (2 or 3 expected)")

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.buf, self.pos)
        self.pos += 4
        return v

    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & 0x200, flags & 0x400
        if t in (254, 242, 253):  # NULL, empty env, global env
            return None
        if t == 255:  # reference to an earlier symbol
            return self.refs[(flags >> 8) - 1]
        if t == 1:  # symbol: its name
            name = self.item()
            self.refs.append(name)
            return name
        if t == 9:  # CHARSXP
            n = self.int()
            if n < 0:
                return None
            s = self.buf[self.pos:self.pos + n].decode("utf-8", "replace")
            self.pos += n
            return s
        if t == 2:  # pairlist: (tag, value) pairs
            out = []
            while t == 2:
                if has_attr:
                    self.item()  # attributes of a pairlist cell: not needed
                tag = self.item() if has_tag else None
                out.append((tag, self.item()))
                flags = self.int()
                t, has_attr, has_tag = flags & 0xFF, flags & 0x200, flags & 0x400
            if t != 254:
                raise RDataError(f"{self.name}: pairlist ends with type {t}")
            return out
        if t in (10, 13, 14, 16, 19):
            n = self.int()
            if t in (10, 13):
                value = list(struct.unpack_from(f">{n}i", self.buf, self.pos))
                self.pos += 4 * n
            elif t == 14:
                value = list(struct.unpack_from(f">{n}d", self.buf, self.pos))
                self.pos += 8 * n
            else:
                value = [self.item() for _ in range(n)]
            if has_attr:
                attrs = dict(self.item())
                if "names" in attrs:
                    return dict(zip(attrs["names"], value, strict=True))
            return value
        raise RDataError(f"{self.name}: R object type {t} at byte {self.pos - 4} is not supported")


def _decompress_rdb(chunk: bytes, name: str) -> bytes:
    """One object of a lazy-load database: 4-byte length, then zlib (or a type byte and bzip2/xz/raw)."""
    body, kind = chunk[4:], b"Z"
    if chunk[4:5] in (b"Z", b"2", b"X", b"0"):  # a type byte (zlib data itself starts with 0x78)
        body, kind = chunk[5:], chunk[4:5]
    try:
        return {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress, b"0": bytes}[kind](body)
    except (zlib.error, OSError, lzma.LZMAError) as e:
        raise RDataError(f"{name}: cannot decompress an object ({e})") from None


def read_r_data(package_dir: str | os.PathLike) -> dict[str, object]:
    """The datasets of an installed R package (``data/Rdata.rdx`` + ``Rdata.rdb``), without R."""
    d = Path(package_dir) / "data"
    rdx, rdb = d / "Rdata.rdx", d / "Rdata.rdb"
    if not rdx.is_file() or not rdb.is_file():
        raise FileNotFoundError(f"{d}: no R lazy-load data (Rdata.rdx/.rdb)")
    raw = rdx.read_bytes()
    index_bytes = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else zlib.decompress(raw[4:])
    index = _RReader(index_bytes, str(rdx)).item()
    if not isinstance(index, dict) or "variables" not in index:
        raise RDataError(f"{rdx}: no 'variables' in the index")
    data = rdb.read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].items():
        out[name] = _RReader(_decompress_rdb(data[offset:offset + length], f"{rdb}:{name}"), f"{rdb}:{name}").item()
    return out


def _read_r_package(package_dir: str | os.PathLike, r_name: str) -> dict[str, object]:
    """:func:`read_r_data` of an R package that Debian ships as ``r-cran-<r_name>``; a missing one is named
    with its install line."""
    p = Path(package_dir)
    if not (p / "data" / "Rdata.rdx").is_file():
        deb = f"r-cran-{r_name}"
        raise FileNotFoundError(f"{p}: the {r_name} R package is not installed (Debian package "
                                f"{deb}: apt-get install --no-install-recommends {deb})")
    return read_r_data(p)


# Titles and headings: no lower-case letter ("CHAPTER 1", "PERSUASION"), "Chapter 12", "(1814)", "by Jane Austen".
_HEADING = re.compile(r"^(?:(?:Chapter|Volume)\s+[IVXLC\d]+\.?|[^a-z]*|\(\d{4}\)|[Bb]y Jane Austen\.?)$")


def austen_sentences(package_dir: str | os.PathLike = DEFAULT_AUSTEN_DIR) -> Iterator[str]:
    """Raw sentences of Jane Austen's six novels (R package ``janeaustenr``: one character vector of lines
    per novel), paragraph by paragraph; titles and chapter headings are skipped."""
    p = Path(package_dir)
    books = _read_r_package(p, "janeaustenr")
    missing = [b for b in AUSTEN_NOVELS if b not in books]
    if missing:
        raise RDataError(f"{p}: no dataset(s) {', '.join(missing)}")
    for name in AUSTEN_NOVELS:
        yield from _paragraph_sentences(books[name], _HEADING)  # type: ignore[arg-type]


def _paragraph_sentences(lines: Iterable[str], heading: re.Pattern[str]) -> Iterator[str]:
    """Sentences of prose given as lines with blank lines between paragraphs; paragraphs that ``heading``
    matches whole (titles, chapter headings) are skipped."""
    para: list[str] = []
    for line in [*lines, ""]:
        if line and line.strip():
            para.append(line.strip())
            continue
        text = " ".join(para)
        para = []
        if text and not heading.match(text):
            yield from split_sentences(text)


# Project Gutenberg's text between its START and END lines; chapter headings and the closing "Epilogue".
_GUTENBERG_BODY = re.compile(r"^\*\*\* ?START OF[^\n]*\n(.*?)^\*\*\* ?END OF", re.S | re.M)
_MOBY_HEADING = re.compile(r"^(?:CHAPTER \d+\..*|Epilogue|End of (?:the )?Project Gutenberg.*|[^a-z]*)$")


def moby_dick_sentences(package_dir: str | os.PathLike = DEFAULT_TOKENIZERS_DIR) -> Iterator[str]:
    """Raw sentences of *Moby Dick* (the R package ``tokenizers`` ships Project Gutenberg's text as its
    ``mobydick`` dataset), paragraph by paragraph from chapter 1 on: the front matter (title page, contents,
    the "Etymology" and "Extracts" of quotations) and chapter headings are skipped."""
    p = Path(package_dir)
    data = _read_r_package(p, "tokenizers").get("mobydick")
    text = data.get("mobydick") if isinstance(data, dict) else data
    if not isinstance(text, str):
        raise RDataError(f"{p}: no mobydick text in the package's data")
    body = _GUTENBERG_BODY.search(text.replace("\r", ""))
    if body is None:
        raise RDataError(f"{p}: mobydick: no Project Gutenberg START/END lines around the text")
    lines = body.group(1).split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("CHAPTER 1.")), 0)
    yield from _paragraph_sentences(lines[start:], _MOBY_HEADING)


# --------------------------------------------------------------------------------------------- sources


@dataclass
class SourcePaths:
    """Where the installed packages keep each source's text (``asr lm-text`` has one flag per field)."""

    gcide: str = option(DEFAULT_GCIDE, help="GCIDE dictd database (dict-gcide)")
    austen_dir: str = option(DEFAULT_AUSTEN_DIR, help="installed janeaustenr R package")
    tokenizers_dir: str = option(DEFAULT_TOKENIZERS_DIR, help="installed tokenizers R package (moby)")
    wordnet_dir: str = option(DEFAULT_WORDNET_DIR, help="WordNet data files (wordnet-base)")
    fortune_dir: str = option(DEFAULT_FORTUNE_DIR, help="fortune files (fortunes)")


@dataclass(frozen=True)
class Source:
    package: str  # Debian package to install
    licence: str
    sentences: Callable[[SourcePaths], Iterable[str]]
    dedup: bool  # drop repeated sentences (a dictionary quotes the same line under several headwords)


def _wordnet(paths: SourcePaths) -> list[str]:
    return extract_wordnet_sentences(paths.wordnet_dir)


def _fortunes(paths: SourcePaths) -> list[str]:
    return extract_fortune_sentences(paths.fortune_dir)


SOURCES: dict[str, Source] = {
    "gcide-quotes": Source("dict-gcide", "GPL-2+", lambda a: gcide_sentences(a.gcide, "quote"), True),
    "gcide-notes": Source("dict-gcide", "GPL-2+", lambda a: gcide_sentences(a.gcide, "note"), True),
    "austen": Source("r-cran-janeaustenr", "public domain (package: MIT)", lambda a: austen_sentences(a.austen_dir),
                     False),
    "moby": Source("r-cran-tokenizers", "public domain (package: MIT)",
                   lambda a: moby_dick_sentences(a.tokenizers_dir), False),
    "gcide-defs": Source("dict-gcide", "GPL-2+", lambda a: gcide_sentences(a.gcide, "def"), True),
    "wordnet": Source("wordnet-base", "WordNet 3.0 licence (BSD-like)", _wordnet, True),
    "fortunes": Source("fortunes", "BSD", _fortunes, True),
}
DEFAULT_SOURCES = ("gcide-quotes", "gcide-notes", "austen", "moby")


class Excluder:
    """Tells whether a normalized sentence is, or overlaps, one of the excluded utterances."""

    def __init__(self, utterances: Iterable[str], n: int = EXCLUDE_NGRAM):
        self.n, self.full, self.ngrams = n, set(), set()
        for u in utterances:
            words = u.split()
            self.full.add(" ".join(words))
            self.ngrams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))

    def __len__(self) -> int:
        return len(self.full)

    def __call__(self, sentence: str) -> bool:
        if sentence in self.full:
            return True
        w = sentence.split()
        return any(tuple(w[i:i + self.n]) in self.ngrams for i in range(len(w) - self.n + 1))


def normalized(sentences: Iterable[str], min_words: int = 1) -> Iterator[str]:
    for s in sentences:
        t = normalize_text(s)
        if t and len(t.split()) >= min_words:
            yield t


def build_lm_text(out: str | os.PathLike, sources: Iterable[str] = DEFAULT_SOURCES, include: Iterable[str] = (),
                  exclude: Iterable[str] = (), paths: SourcePaths | None = None) -> dict[str, dict[str, int]]:
    """Write normalized LM text to ``out`` from packaged ``sources`` and ``include`` files/data dirs.

    ``exclude``: data dirs or text files whose utterances must not be in the LM (see :class:`Excluder`).
    ``paths``: where the packaged sources are installed (default: the Debian locations).
    Returns per source: sentences and words written, and sentences dropped as overlapping ``exclude``.
    Checks that every source's package is installed before writing anything.
    """
    from asr.text.tokenizer import read_training_text

    paths = paths or SourcePaths()
    sources = list(sources)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown LM text source(s) {', '.join(unknown)}; known: {', '.join(SOURCES)}")
    for path in [*include, *exclude]:
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such text file or data directory")
    for name in sources:  # a missing package fails before any output
        _check_installed(name, paths)
    excluder = Excluder(t for path in exclude for t in read_training_text(path))
    iterators = [(name, SOURCES[name].sentences(paths), SOURCES[name].dedup) for name in sources]
    iterators += [(str(path), read_training_text(path), False) for path in include]
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    stats: dict[str, dict[str, int]] = {}
    with atomic_path(p) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for name, sentences, dedup in iterators:
            st = stats[name] = {"sentences": 0, "words": 0, "excluded": 0}
            seen: set[str] = set()
            min_words = MIN_WORDS if name.startswith("gcide") else 1
            for s in normalized(sentences, min_words):
                if dedup:
                    if s in seen:
                        continue
                    seen.add(s)
                if excluder(s):
                    st["excluded"] += 1
                    continue
                f.write(s + "\n")
                st["sentences"] += 1
                st["words"] += s.count(" ") + 1
    return stats


def _check_installed(name: str, paths: SourcePaths) -> None:
    path = {"gcide-quotes": paths.gcide, "gcide-notes": paths.gcide, "gcide-defs": paths.gcide,
            "austen": Path(paths.austen_dir) / "data" / "Rdata.rdx",
            "moby": Path(paths.tokenizers_dir) / "data" / "Rdata.rdx",
            "wordnet": Path(paths.wordnet_dir) / "data.noun", "fortunes": Path(paths.fortune_dir) / "fortunes"}[name]
    if not Path(path).exists():
        pkg = SOURCES[name].package
        raise FileNotFoundError(f"{path}: LM text source {name!r} needs the Debian package {pkg} "
                                f"(apt-get install --no-install-recommends {pkg})")
