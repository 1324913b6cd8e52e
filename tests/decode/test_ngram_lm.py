"""Interpolated modified Kneser-Ney against hand computation, normalization, backoff consistency, KenLM."""

import math
import random
from collections import defaultdict

import pytest

from asr.cli import main as asr_main
from asr.data.synth import default_prompts_path
from asr.decode.ngram_lm import (
    BOS,
    EOS,
    UNK,
    ArpaError,
    NgramConfig,
    adjusted_counts,
    build_lm,
    estimate_discounts,
    estimate_kneser_ney,
    read_arpa,
    write_arpa,
)

WORDNET = default_prompts_path()  # the shipped WordNet sentences


def toy(order, discounts=(0.5, 0.75, 1.0)):
    return estimate_kneser_ney([s.split() for s in ("a b", "a b", "b")], NgramConfig(order=order, discounts=discounts))


def test_bigram_probabilities_by_hand():
    """Corpus: "a b", "a b", "b"; fixed discounts D1=0.5, D2=0.75, D3+=1.0.

    Padded: <s> a b </s> (x2), <s> b </s>. Bigram (highest order) raw counts:
        <s> a: 2   a b: 2   b </s>: 3   <s> b: 1
    Unigram adjusted counts = number of distinct left neighbours:
        a: {<s>} = 1   b: {a, <s>} = 2   </s>: {b} = 1   <s>, <unk>: 0      sum = 4
    V = {a, b, </s>, <unk>} (no <s>), |V| = 4.
        gamma() = (D(1) + D(2) + D(1)) / 4 = (0.5 + 0.75 + 0.5) / 4 = 0.4375
        p(a)    = (1 - 0.5) / 4 + 0.4375 / 4 = 0.125 + 0.109375 = 0.234375
        p(b)    = (2 - 0.75) / 4 + 0.109375  = 0.3125 + 0.109375 = 0.421875
        p(</s>) = 0.234375,   p(<unk>) = 0.109375                       (sum: 1)
    Context <s> (a: 2, b: 1, total 3): gamma(<s>) = (0.75 + 0.5) / 3 = 1.25 / 3
        p(a | <s>) = (2 - 0.75) / 3 + 1.25 / 3 * 0.234375 = 0.514322916...
        p(b | <s>) = (1 - 0.5) / 3 + 1.25 / 3 * 0.421875  = 0.342447916...
    Context a (b: 2): gamma(a) = 0.75 / 2 = 0.375;  p(b | a) = 1.25 / 2 + 0.375 * 0.421875 = 0.783203125
    Context b (</s>: 3, so D3+): gamma(b) = 1 / 3;  p(</s> | b) = 2 / 3 + 1 / 3 * 0.234375 = 0.744791666...
    Unseen: p(a | a) = gamma(a) p(a) = 0.375 * 0.234375 = 0.087890625 (the ARPA backoff rule).
    """
    m = toy(2)
    p = lambda w, *c: 10 ** m.log10_prob(w, c)  # noqa: E731
    assert p("a") == pytest.approx(0.234375)
    assert p("b") == pytest.approx(0.421875)
    assert p(EOS) == pytest.approx(0.234375)
    assert p(UNK) == pytest.approx(0.109375)
    assert p("a", BOS) == pytest.approx(1.25 / 3 * (1 + 0.234375))
    assert p("b", BOS) == pytest.approx(0.5 / 3 + 1.25 / 3 * 0.421875)
    assert p("b", "a") == pytest.approx(0.783203125)
    assert p(EOS, "b") == pytest.approx(2 / 3 + 0.234375 / 3)
    assert p("a", "a") == pytest.approx(0.087890625)
    assert p("never-seen", "a") == pytest.approx(0.375 * 0.109375)  # scored as <unk>
    assert 10 ** m.backoff[0][(BOS,)] == pytest.approx(1.25 / 3)
    assert 10 ** m.backoff[0][("a",)] == pytest.approx(0.375)
    assert 10 ** m.backoff[0][("b",)] == pytest.approx(1 / 3)
    assert m.logprob[0][(BOS,)] == 0.0  # lmplz's convention: <s> is never predicted


def test_trigram_adjusted_counts_and_probabilities_by_hand():
    """Same corpus, order 3. Trigrams keep raw counts: <s> a b: 2, a b </s>: 2, <s> b </s>: 1.
    Bigrams starting with <s> keep raw counts (<s> a: 2, <s> b: 1); the others count distinct left
    neighbours among trigram types: a b: {<s>} = 1, b </s>: {a, <s>} = 2. Unigrams as in the bigram case.

    With D = (0.5, 0.75, 1.0) at every order:
        p(b | a)      = (1 - 0.5) / 1 + (0.5 / 1) * p(b)        = 0.5 + 0.5 * 0.421875    = 0.7109375
        p(b | <s> a)  = (2 - 0.75) / 2 + (0.75 / 2) * p(b | a)  = 0.625 + 0.375 * 0.7109375 = 0.891601...
        p(</s> | b)   = (2 - 0.75) / 2 + 0.375 * p(</s>)        = 0.625 + 0.375 * 0.234375 = 0.712890625
        p(</s> | a b) = (2 - 0.75) / 2 + 0.375 * p(</s> | b)    = 0.625 + 0.375 * 0.712890625
    """
    counts = adjusted_counts([s.split() for s in ("a b", "a b", "b")], 3)
    assert counts[2] == {(BOS, "a", "b"): 2, ("a", "b", EOS): 2, (BOS, "b", EOS): 1}
    assert counts[1] == {(BOS, "a"): 2, (BOS, "b"): 1, ("a", "b"): 1, ("b", EOS): 2}
    assert counts[0] == {("a",): 1, ("b",): 2, (EOS,): 1, (BOS,): 0, (UNK,): 0}
    m = toy(3)
    p = lambda w, *c: 10 ** m.log10_prob(w, c)  # noqa: E731
    assert p("b", "a") == pytest.approx(0.7109375)
    assert p("b", BOS, "a") == pytest.approx(0.625 + 0.375 * 0.7109375)
    assert p(EOS, "b") == pytest.approx(0.712890625)
    assert p(EOS, "a", "b") == pytest.approx(0.625 + 0.375 * 0.712890625)
    # Unseen trigram "a b a": backoff(a b) * p(a | b), p(a | b) = backoff(b) * p(a) (b a unseen too).
    assert p("a", "a", "b") == pytest.approx(0.375 * (0.375 * 0.234375))


def test_discounts_from_counts_of_counts():
    """t1..t4 = 4, 2, 1, 1: Y = 4 / (4 + 2*2) = 0.5;
    D1 = 1 - 2 Y t2/t1 = 0.5;  D2 = 2 - 3 Y t3/t2 = 1.25;  D3+ = 3 - 4 Y t4/t3 = 1.0."""
    counts = {("w", str(i)): c for i, c in enumerate([1, 1, 1, 1, 2, 2, 3, 4, 9])}
    assert estimate_discounts(counts, 2) == pytest.approx((0.5, 1.25, 1.0))
    assert estimate_discounts({("a",): 1, ("b",): 1}, 1) is None  # no count 2: undefined, fallback


def interpolated(counts, discounts, vocab_size):
    """Independent reference: p(w | c) by the recursive interpolation formula, straight from counts."""
    by_ctx = [defaultdict(dict) for _ in counts]
    for n, level in enumerate(counts):
        for g, a in level.items():
            by_ctx[n][g[:-1]][g[-1]] = a

    def d(n, a):
        return 0.0 if a == 0 else discounts[n][min(a, 3) - 1]

    def p(w, ctx):
        n = len(ctx)
        if n == 0:
            ext = by_ctx[0][()]
            total = sum(ext.values())
            gamma = sum(d(0, a) for a in ext.values()) / total
            a = ext.get(w, 0)
            return (a - d(0, a)) / total + gamma / vocab_size
        ext = by_ctx[n].get(ctx)
        if not ext:
            return p(w, ctx[1:])  # context never seen: nothing to interpolate at this order
        total = sum(ext.values())
        gamma = sum(d(n, a) for a in ext.values()) / total
        a = ext.get(w, 0)
        return (a - d(n, a)) / total + gamma * p(w, ctx[1:])

    return p


@pytest.fixture(scope="module")
def wordnet_lm():
    sentences = WORDNET.read_text().splitlines()[:400]
    text = [s.split() for s in sentences]
    from asr.text.normalize import normalize_text

    text = [normalize_text(s).split() for s in sentences]
    text = [t for t in text if t]
    return text, estimate_kneser_ney(text, NgramConfig(order=3))


def test_every_context_sums_to_one_and_backoffs_match_interpolation(wordnet_lm):
    text, m = wordnet_lm
    vocab = [w for w in m.vocab if w != BOS]
    ref = interpolated(adjusted_counts(text, 3), m.discounts, len(vocab))
    contexts = [()] + list(m.logprob[0]) + list(m.logprob[1])
    rng = random.Random(0)
    contexts = contexts[:1] + rng.sample(contexts[1:], 150) + [("zzz", "yyy"), ("a", "zzz"), (BOS, BOS)]
    for ctx in contexts:
        if ctx and ctx[-1] == EOS:
            continue  # never a context
        probs = [10 ** m.log10_prob(w, ctx) for w in vocab]
        assert math.fsum(probs) == pytest.approx(1.0, abs=1e-9), ctx
        # ARPA's "seen: stored prob, unseen: backoff * lower order" == the interpolation formula.
        for w in rng.sample(vocab, 25) + [EOS, UNK]:
            want = ref(w, tuple(x if (x,) in m.logprob[0] else UNK for x in ctx))
            assert 10 ** m.log10_prob(w, ctx) == pytest.approx(want, rel=1e-9), (ctx, w)


def test_arpa_round_trip_and_kenlm_agree(wordnet_lm, tmp_path):
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    text, m = wordnet_lm
    path = write_arpa(m, tmp_path / "lm.arpa")
    back = read_arpa(path)
    assert back.counts() == m.counts()
    words = [w for w in m.vocab if w != BOS]
    wd = Dictionary(words)
    lm = KenLM(str(path), wd)
    for sent in text[:40] + [["the", "unheardof", "word"]]:
        state, total = lm.start(False), 0.0
        for w in sent:
            state, s = lm.score(state, wd.get_index(w if w in words else UNK))
            total += s
        state, s = lm.finish(state)
        total += s
        assert total == pytest.approx(back.sentence_log10_prob(sent), abs=1e-4)
        assert total == pytest.approx(m.sentence_log10_prob(sent), abs=1e-4)


@pytest.mark.parametrize(("content", "msg"), [
    ("", "empty, not an ARPA file"),
    ("hello\n", ":1: expected the ARPA header"),
    ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n\\end\\\n", ":6: the header declares 2 1-grams but the section has 1"),
    ("\\data\\\nngram 1=1\n\n\\1-grams:\nx\ta\n\\end\\\n", ":5: not a number"),
    ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\ta\n", "ends before \\\\end\\\\"),
    ("\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\n\n\\2-grams:\n-1\ta\n\\end\\\n", ":9: a 2-gram line needs"),
])
def test_malformed_arpa_names_file_and_line(tmp_path, content, msg):
    path = tmp_path / "bad.arpa"
    path.write_text(content)
    with pytest.raises(ArpaError, match=msg) as e:
        read_arpa(path)
    assert str(path) in str(e.value)


def test_cli_word_and_char_lm(tmp_path, caplog):
    text = tmp_path / "text"
    text.write_text("Hello, World!\nhello there world\n\nthe 2 worlds\n")
    assert asr_main(["lm", str(text), str(tmp_path / "w3.arpa"), "--order", "3"]) == 0
    m = read_arpa(tmp_path / "w3.arpa")
    assert {w for (w,) in m.logprob[0]} == {BOS, EOS, UNK, "hello", "world", "there", "the", "two", "worlds"}
    lexicon = (tmp_path / "w3.lexicon.txt").read_text().splitlines()
    assert "hello\th e l l o |" in lexicon and len(lexicon) == 6
    assert asr_main(["lm", str(text), str(tmp_path / "chars"), "--order", "4", "--unit", "char"]) == 0
    assert {w for (w,) in read_arpa(tmp_path / "chars" / "lm.arpa").logprob[0]} >= {"|", "h", "w"}
    assert not (tmp_path / "chars" / "lexicon.txt").exists()
    assert asr_main(["lm", str(tmp_path / "missing.txt"), str(tmp_path / "x.arpa")]) == 1
    assert asr_main(["lm", str(text), str(tmp_path / "x.arpa"), "--order", "1"]) == 1
    assert "no such LM training text" in caplog.text and "at least 2" in caplog.text
    # --normalized (asr lm-text's output) skips the normalizer: the same LM from normalized text...
    normed = tmp_path / "normed.txt"
    normed.write_text("hello world\n  hello there   world\n\nthe two worlds\n")
    assert asr_main(["lm", str(normed), str(tmp_path / "n3.arpa"), "--order", "3", "--normalized"]) == 0
    assert (tmp_path / "n3.arpa").read_text() == (tmp_path / "w3.arpa").read_text()
    # ... and raw text is then taken literally, which is why it is not the default.
    assert asr_main(["lm", str(text), str(tmp_path / "raw.arpa"), "--order", "3", "--normalized"]) == 0
    assert ("World!",) in read_arpa(tmp_path / "raw.arpa").logprob[0]


def test_build_lm_reads_a_data_dir_text(tiny_corpus):
    m = build_lm(tiny_corpus / "train" / "text", NgramConfig(order=2))
    first = (tiny_corpus / "train" / "text").read_text().splitlines()[0].split()
    assert (first[0],) not in m.logprob[0]  # the utterance id is not a word
    assert (first[1],) in m.logprob[0]


def test_pruned_lm_is_smaller_normalized_and_loads_in_kenlm(wordnet_lm, tmp_path):
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    text, full = wordnet_lm
    m = estimate_kneser_ney(text, NgramConfig(order=3, prune=1))
    assert m.counts()[0] == full.counts()[0]  # unigrams are never pruned
    assert m.counts()[1] < full.counts()[1] / 2 and m.counts()[2] < full.counts()[2] / 2
    for n in (2, 3):  # ARPA's rule: a kept n-gram's context and suffix are kept
        assert all(g[:-1] in m.logprob[n - 2] and g[1:] in m.logprob[n - 2] for g in m.logprob[n - 1])
    vocab = [w for w in m.vocab if w != BOS]
    rng = random.Random(1)
    contexts = [()] + rng.sample([c for c in m.logprob[1] if c[-1] != EOS], 60) + [("the",), (BOS,)]
    for ctx in contexts:
        assert math.fsum(10 ** m.log10_prob(w, ctx) for w in vocab) == pytest.approx(1.0, abs=1e-9), ctx
    path = write_arpa(m, tmp_path / "pruned.arpa")
    wd = Dictionary(vocab)
    lm = KenLM(str(path), wd)
    sent = text[0]
    state, total = lm.start(False), 0.0
    for w in sent:
        state, s = lm.score(state, wd.get_index(w))
        total += s
    total += lm.finish(state)[1]
    assert total == pytest.approx(m.sentence_log10_prob(sent), abs=1e-4)
    with pytest.raises(ValueError, match="prune must be >= 0"):
        NgramConfig(prune=-1)
