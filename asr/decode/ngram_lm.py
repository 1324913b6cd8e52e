"""Word (or character) n-gram language models: interpolated modified Kneser-Ney, ARPA in and out.

No installable library builds ARPA files here (the ``kenlm`` wheel only queries; its ``lmplz``
needs Boost and a C++ build; NLTK's ``KneserNeyInterpolated`` is neither modified KN nor exportable),
so estimation is written out below. It follows KenLM's ``lmplz`` (Heafield et al. 2013) and Chen &
Goodman (1998) so that its files mean what ``lmplz`` files mean:

* Each sentence is ``<s> w1 ... wk </s>``. Highest-order n-grams keep their raw counts; n-grams that
  start with ``<s>`` (which cannot be extended to the left) keep their raw counts at every order;
  every other lower-order n-gram gets the *adjusted* count ``a(w_1^n) = |{x : x w_1^n seen}|``.
* Discounts per order ``n`` from the counts of adjusted counts ``t_k`` (``k = 1..4``)::

      Y = t_1 / (t_1 + 2 t_2),   D(k) = k - (k + 1) Y t_{k+1} / t_k   (k = 1, 2, 3; D(k > 3) = D(3))

  (small or artificial text can make these undefined or out of ``[0, k]``: then ``lmplz
  --discount_fallback``'s 0.5 / 1.0 / 1.5 are used, with a warning).
* For context ``c`` and word ``w`` (``N_k(c)``: words after ``c`` with adjusted count ``k``, ``3`` = 3+)::

      u(w | c) = (a(c w) - D(a(c w))) / sum_x a(c x)
      gamma(c) = (D(1) N_1(c) + D(2) N_2(c) + D(3) N_3+(c)) / sum_x a(c x)
      p(w | c) = u(w | c) + gamma(c) p(w | c')              c' = c without its first word
      p(w)     = u(w) + gamma() / |V|                       V = vocabulary with <unk> and </s>, without <s>

* ARPA stores ``log10 p`` of every seen n-gram and ``log10 gamma(c)`` as the backoff of context ``c``:
  for an unseen ``c w``, ``u = 0`` so ``p(w | c) = gamma(c) p(w | c')`` is exactly ARPA's backoff rule.
  ``<s>`` is only ever a context: like lmplz, its unigram is written with log10 p = 0 so that scoring
  it explicitly changes nothing (it is not in V, and not in any sum). ``<unk>`` gets the uniform share.

Checked against lmplz (KenLM 0.3.0 built from source) on the synthetic corpus' training text
(10k sentences, orders 2-4): the same n-grams, log10 probabilities and backoffs within 6e-7. (On
some texts lmplz's D3+ differs slightly: its discount statistics count the last lower-order n-gram
of its sort order by raw instead of adjusted count; here every n-gram counts by its adjusted count,
as Chen & Goodman define it.)

Pruning (``prune = k``, as ``lmplz --prune 0 k k ...``) drops the n-grams of order 2 and up whose count
(adjusted, or raw at the highest order) is at most ``k``; their whole count, not only its discount, goes
to their context's backoff mass, so each context's distribution still sums to one. A lower-order n-gram
that is the context or the suffix of a kept one is kept, as ARPA requires.

Everything is held in Python dicts: fine for a few million words of text, not for web-scale corpora.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asr.config import option
from asr.io import atomic_path
from asr.text.tokenizer import read_training_text

log = logging.getLogger(__name__)

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
WORD_SEP = "|"  # the word separator of character LMs (and of lexicon spellings, as torchaudio expects)
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # lmplz --discount_fallback
LOG10_ZERO = -99.0  # what ARPA files write for probability 0 (KenLM reads it as such)

NGram = tuple[str, ...]


class ArpaError(ValueError):
    """An ARPA file is missing or malformed; the message names the file and line."""


MAX_ORDER = 6  # KenLM's compiled-in KENLM_MAX_ORDER in the wheels that decode (flashlight-text)


@dataclass
class NgramConfig:
    """Options of ``asr lm``."""

    order: int = option(3, help="n-gram order (at least 2)")
    # char: characters with WORD_SEP between words, for lexicon-free decoding.
    unit: str = option("word", choices=("word", "char"),
                       help="word LM (decoded with its lexicon) or character LM (lexicon-free decoding)")
    # None: estimated from the counts of counts, as lmplz does.
    discounts: tuple[float, float, float] | None = option(
        None, metavar="D1,D2,D3+", help="fixed D1,D2,D3+ for every order instead of the estimated ones")
    # `asr lm-text` writes normalized sentences; normalizing them again was half of `asr lm`'s time.
    normalized: bool = option(False, help="the text is normalized already (one sentence per line, as `asr lm-text` "
                                          "writes it): split it into words as it is")

    # Smaller files for shipping: n-grams (order >= 2) seen at most this often are dropped (lmplz --prune).
    prune: int = option(0, help="drop n-grams of order >= 2 whose count is at most this (0: keep all)")

    def __post_init__(self):
        if self.prune < 0:
            raise ValueError(f"prune must be >= 0, got {self.prune}")
        if self.order < 2:
            # KenLM (and so flashlight/torchaudio) refuses unigram-only models.
            raise ValueError(f"LM order must be at least 2 (KenLM loads no unigram-only model), got {self.order}")
        if self.order > MAX_ORDER:
            raise ValueError(f"LM order must be at most {MAX_ORDER} (KenLM's default build loads no longer n-grams), "
                             f"got {self.order}")
        if self.discounts is not None:
            # Kneser-Ney takes D_k from the count of an n-gram seen k times: 0 <= D_k <= k keeps every
            # probability non-negative (a negative D made the LM's mass exceed 1, and decoding return nothing).
            d = tuple(self.discounts)
            if len(d) != 3 or not all(0 <= x <= k and math.isfinite(x) for k, x in zip((1, 2, 3), d, strict=False)):
                raise ValueError(f"discounts must be three numbers D1,D2,D3+ with 0 <= D1 <= 1, 0 <= D2 <= 2, "
                                 f"0 <= D3+ <= 3, got {','.join(map(str, d))}")
        if self.unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {self.unit!r}")


@dataclass
class NgramModel:
    """An n-gram backoff model as ARPA holds it.

    ``logprob[n - 1][ngram]`` is ``log10 p`` of the n-gram ``(w_1, ..., w_n)`` and
    ``backoff[n - 1][ngram]`` the ``log10`` backoff weight of that n-gram as a context (absent = 0).
    """

    order: int
    logprob: list[dict[NGram, float]]
    backoff: list[dict[NGram, float]]
    discounts: list[tuple[float, float, float]] = field(default_factory=list)  # per order, when estimated

    @property
    def vocab(self) -> list[str]:
        """Every unigram, ``<s>`` included, sorted."""
        return sorted(w for (w,) in self.logprob[0])

    def log10_prob(self, word: str, context: Iterable[str] = ()) -> float:
        """``log10 p(word | context)`` by ARPA's backoff rule; an unknown word is scored as ``<unk>``."""
        if (word,) not in self.logprob[0]:
            word = UNK
        ctx = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        ctx = tuple(w if (w,) in self.logprob[0] else UNK for w in ctx)
        total = 0.0
        while True:
            ngram = ctx + (word,)
            lp = self.logprob[len(ngram) - 1].get(ngram)
            if lp is not None:
                return total + lp
            if not ctx:
                return LOG10_ZERO  # word unknown and no <unk> in the model
            total += self.backoff[len(ctx) - 1].get(ctx, 0.0)
            ctx = ctx[1:]

    def sentence_log10_prob(self, words: list[str]) -> float:
        """``log10 p(</s> w_k ... w_1 | <s>)`` as KenLM scores a full sentence."""
        ctx, total = [BOS], 0.0
        for w in list(words) + [EOS]:
            total += self.log10_prob(w, ctx)
            ctx.append(w)
        return total

    def counts(self) -> list[int]:
        return [len(level) for level in self.logprob]


# ----------------------------------------------------------------------------------------------- text


def text_units(sentence: str, unit: str) -> list[str]:
    """A normalized sentence as LM tokens: its words, or its characters with WORD_SEP between words."""
    if unit == "word":
        return sentence.split()
    return list(WORD_SEP.join(sentence.split()))


def read_sentences(path: str | os.PathLike, unit: str = "word", normalized: bool = False) -> Iterator[list[str]]:
    """Normalized LM tokens of each non-empty line of a text file.

    A data directory's ``text`` (``<utt> <words>``, next to a ``wav.scp``) has its ids dropped.
    ``normalized``: the lines are taken as they are (split at whitespace), not normalized again.
    """
    text_file = Path(path) / "text" if Path(path).is_dir() else Path(path)
    if not text_file.is_file():
        raise FileNotFoundError(f"{text_file}: no such LM training text")
    for text in read_training_text(path, normalized):
        yield text_units(text, unit)


# ----------------------------------------------------------------------------------------- estimation


def adjusted_counts(sentences: Iterable[list[str]], order: int) -> list[dict[NGram, int]]:
    """``counts[n - 1][ngram]``: raw counts at the highest order and for ``<s>``-initial n-grams,
    continuation counts (distinct left extensions) for every other lower-order n-gram.

    ``<s>`` and ``<unk>`` are unigrams with count 0 (lmplz does the same: they are in the vocabulary
    but are never predicted from training text).
    """
    counts: list[dict[NGram, int]] = [defaultdict(int) for _ in range(order)]
    num = 0
    for words in sentences:
        toks = (BOS, *words, EOS)
        num += 1
        for i in range(1, len(toks)):
            # The longest n-gram ending at i: a full order-N n-gram, or a shorter one starting at <s>.
            ngram = toks[max(0, i - order + 1): i + 1]
            counts[len(ngram) - 1][ngram] += 1
    if num == 0:
        raise ValueError("no sentences to estimate a language model from")
    # Every occurrence of a lower-order n-gram not starting with <s> is the suffix of a higher-order
    # one (<s> pads the left), so counting distinct (n+1)-gram keys by suffix gives the continuation counts.
    for n in range(order - 1, 0, -1):
        lower = counts[n - 1]
        for ngram in counts[n]:
            lower[ngram[1:]] += 1
    for special in (BOS, UNK):
        counts[0].setdefault((special,), 0)
    return [dict(c) for c in counts]


def estimate_discounts(counts: dict[NGram, int], n: int) -> tuple[float, float, float] | None:
    """Chen & Goodman's D(1), D(2), D(3+) from the counts of counts of one order; None if undefined."""
    t = [0] * 5
    for c in counts.values():
        if 0 < c <= 4:
            t[c] += 1
    if t[1] == 0 or t[2] == 0 or t[3] == 0:
        log.warning("%d-grams: no n-grams with adjusted count %d, so the modified Kneser-Ney discounts are "
                    "undefined (small or artificial text?); using %s", n, 1 + [t[1], t[2], t[3]].index(0),
                    FALLBACK_DISCOUNTS)
        return None
    y = t[1] / (t[1] + 2 * t[2])
    d = tuple(k - (k + 1) * y * t[k + 1] / t[k] for k in (1, 2, 3))
    if any(not 0 <= dk <= k for k, dk in zip((1, 2, 3), d, strict=True)):
        log.warning("%d-grams: discounts %s out of range (small or artificial text?); using %s",
                    n, tuple(round(x, 4) for x in d), FALLBACK_DISCOUNTS)
        return None
    return d  # type: ignore[return-value]


def _discount(d: tuple[float, float, float], count: int) -> float:
    return 0.0 if count == 0 else d[min(count, 3) - 1]


def kept_ngrams(counts: list[dict[NGram, int]], prune: int) -> list[set[NGram]] | None:
    """Per order, the n-grams that survive pruning at ``prune`` (None: no pruning): unigrams all, higher
    orders those counted more than ``prune`` times or needed as the context or suffix of a kept longer one."""
    if prune <= 0:
        return None
    kept: list[set[NGram]] = [set() for _ in counts]
    for n in range(len(counts), 1, -1):
        needed = {g[:-1] for g in kept[n]} | {g[1:] for g in kept[n]} if n < len(counts) else set()
        kept[n - 1] = {g for g, c in counts[n - 1].items() if c > prune} | needed
    kept[0] = set(counts[0])
    return kept


def estimate_kneser_ney(sentences: Iterable[list[str]], cfg: NgramConfig) -> NgramModel:
    """Interpolated modified Kneser-Ney n-gram model of tokenized sentences (see the module docstring)."""
    counts = adjusted_counts(sentences, cfg.order)
    discounts = []
    for n, level in enumerate(counts, 1):
        d = cfg.discounts or estimate_discounts(level, n) or FALLBACK_DISCOUNTS
        discounts.append(tuple(float(x) for x in d))
    kept = kept_ngrams(counts, cfg.prune)

    logprob: list[dict[NGram, float]] = []
    backoff: list[dict[NGram, float]] = [{} for _ in range(cfg.order)]
    prob_lower: dict[NGram, float] = {}
    for n, level in enumerate(counts, 1):
        d = discounts[n - 1]
        # Per context: sum of adjusted counts and the discounted mass gamma.
        denom: dict[NGram, float] = defaultdict(float)
        mass: dict[NGram, float] = defaultdict(float)
        keep = kept[n - 1] if kept is not None else None
        for ngram, a in level.items():
            denom[ngram[:-1]] += a
            # A pruned n-gram's whole count goes to the backoff mass of its context.
            mass[ngram[:-1]] += _discount(d, a) if keep is None or ngram in keep else a
        gamma = {c: mass[c] / denom[c] for c in denom if denom[c] > 0}
        probs: dict[NGram, float] = {}
        if n == 1:
            vocab_size = len(level) - 1  # <s> is never predicted
            g = gamma[()]
            for ngram, a in level.items():
                probs[ngram] = (a - _discount(d, a)) / denom[()] + g / vocab_size
            probs[(BOS,)] = 1.0  # never predicted; lmplz's convention (see the module docstring)
        else:
            for ngram, a in level.items():
                ctx = ngram[:-1]
                probs[ngram] = (a - _discount(d, a)) / denom[ctx] + gamma[ctx] * prob_lower[ngram[1:]]
            for ctx, g in gamma.items():
                if kept is None or ctx in kept[n - 2]:
                    backoff[n - 2][ctx] = math.log10(g) if g > 0 else LOG10_ZERO
        logprob.append({k: (math.log10(p) if p > 0 else LOG10_ZERO) for k, p in probs.items()
                        if keep is None or k in keep})
        prob_lower = probs
    return NgramModel(cfg.order, logprob, backoff, discounts)


def build_lm(text: str | os.PathLike, cfg: NgramConfig) -> NgramModel:
    """Estimate an LM from a text file (normalized with ``normalize_text``, one sentence per line)."""
    return estimate_kneser_ney(read_sentences(text, cfg.unit, cfg.normalized), cfg)


# ----------------------------------------------------------------------------------------------- ARPA


def write_arpa(model: NgramModel, path: str | os.PathLike) -> Path:
    """Write ``model`` as an ARPA file (sorted n-grams, 7 significant digits), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write("\\data\\\n")
        for n, level in enumerate(model.logprob, 1):
            f.write(f"ngram {n}={len(level)}\n")
        for n, level in enumerate(model.logprob, 1):
            f.write(f"\n\\{n}-grams:\n")
            bo = model.backoff[n - 1]
            for ngram in sorted(level):
                line = f"{level[ngram]:.7g}\t{' '.join(ngram)}"
                if ngram in bo:
                    line += f"\t{bo[ngram]:.7g}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
    return path


def read_arpa(path: str | os.PathLike) -> NgramModel:
    """Read an ARPA file; raises ArpaError naming the file and line of the first problem."""
    path = Path(path)
    if not path.is_file():
        raise ArpaError(f"{path}: no such language model file")
    declared: dict[int, int] = {}
    logprob: list[dict[NGram, float]] = []
    backoff: list[dict[NGram, float]] = []
    state, n, lineno = "start", 0, 0

    def err(msg: str) -> ArpaError:
        return ArpaError(f"{path}:{lineno}: {msg}")

    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            lines = f.readlines()
        except UnicodeDecodeError as e:
            raise ArpaError(f"{path}: not a text ARPA file ({e.reason} at byte {e.start})") from e
    for lineno, raw in enumerate(lines, 1):  # noqa: B007 (err() reads lineno)
        line = raw.strip()
        if state == "start":
            if not line:
                continue
            if line != "\\data\\":
                raise err(f"expected the ARPA header \\data\\, got {line[:60]!r}")
            state = "counts"
        elif state == "counts":
            if line.startswith("ngram "):
                try:
                    k, v = line[len("ngram "):].split("=")
                    declared[int(k)] = int(v)
                except ValueError:
                    raise err(f"bad count line {line!r} (expected 'ngram N=COUNT')") from None
            elif line.startswith("\\1-grams:"):
                if sorted(declared) != list(range(1, len(declared) + 1)) or not declared:
                    raise err(f"the header declares orders {sorted(declared)}, not 1..N")
                logprob, backoff = [{} for _ in declared], [{} for _ in declared]
                state, n = "grams", 1
            elif line:
                raise err(f"expected 'ngram N=COUNT' or \\1-grams:, got {line[:60]!r}")
        elif state == "grams":
            if not line:
                continue
            if line.startswith("\\"):
                if len(logprob[n - 1]) != declared[n]:
                    raise err(f"the header declares {declared[n]} {n}-grams but the section has "
                              f"{len(logprob[n - 1])}")
                if line == "\\end\\":
                    if n != len(declared):
                        raise err(f"\\end\\ after the {n}-grams, but the header declares {len(declared)} orders")
                    state = "end"
                    break
                if line != f"\\{n + 1}-grams:":
                    raise err(f"expected \\{n + 1}-grams: or \\end\\, got {line[:60]!r}")
                n += 1
                continue
            fields = line.split()
            if len(fields) not in (n + 1, n + 2) or (len(fields) == n + 2 and n == len(declared)):
                raise err(f"a {n}-gram line needs log10-prob, {n} word(s)"
                          f"{'' if n == len(declared) else ' and an optional backoff'}: {line[:80]!r}")
            try:
                lp = float(fields[0])
                bo = float(fields[n + 1]) if len(fields) == n + 2 else None
            except ValueError:
                raise err(f"not a number in {line[:80]!r}") from None
            if lp > 0 or math.isnan(lp):
                raise err(f"log10 probability {lp} is not <= 0")
            ngram = tuple(fields[1: n + 1])
            if ngram in logprob[n - 1]:
                raise err(f"duplicate {n}-gram {' '.join(ngram)!r}")
            logprob[n - 1][ngram] = lp
            if bo is not None:
                backoff[n - 1][ngram] = bo
    if state != "end":
        raise ArpaError(f"{path}: ends before \\end\\ (truncated?)" if state != "start"
                        else f"{path}: empty, not an ARPA file")
    return NgramModel(len(declared), logprob, backoff)


def read_arpa_unigrams(path: str | os.PathLike) -> set[str]:
    """Only the words of an ARPA file's 1-gram section (cheap: stops at the 2-grams)."""
    words: set[str] = set()
    inside = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            s = line.strip()
            if s == "\\1-grams:":
                inside = True
            elif s.startswith("\\") and inside:
                break
            elif inside and s:
                fields = s.split()
                if len(fields) >= 2:
                    words.add(fields[1])
    return words
