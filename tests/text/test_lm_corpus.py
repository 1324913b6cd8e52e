import re
from itertools import islice
from pathlib import Path

import pytest

from asr.cli import main as asr_main
from asr.text.lm_corpus import (
    AUSTEN_NOVELS,
    DEFAULT_AUSTEN_DIR,
    DEFAULT_GCIDE,
    DEFAULT_TOKENIZERS_DIR,
    Excluder,
    SourcePaths,
    austen_sentences,
    build_lm_text,
    gcide_sentences,
    moby_dick_sentences,
    read_r_data,
)
from asr.text.normalize import normalize_text

GCIDE = Path(DEFAULT_GCIDE)
AUSTEN = Path(DEFAULT_AUSTEN_DIR)
needs_gcide = pytest.mark.skipif(not GCIDE.is_file(), reason="dict-gcide not installed")
needs_austen = pytest.mark.skipif(not (AUSTEN / "data" / "Rdata.rdx").is_file(),
                                  reason="r-cran-janeaustenr not installed")
TOKENIZERS = Path(DEFAULT_TOKENIZERS_DIR)
needs_tokenizers = pytest.mark.skipif(not (TOKENIZERS / "data" / "Rdata.rdx").is_file(),
                                      reason="r-cran-tokenizers not installed")

# Excerpts of GCIDE 0.48 as dict-gcide renders it (its licence header, then entries).
GCIDE_EXCERPT = """\
00-database-short
   The Collaborative International Dictionary of English v.0.48

Affatuate \\Af*fat"u*ate\\, v. t. [L. ad + fatuus foolish.]
   To infatuate. [Obs.] --Milton.
   [1913 Webster]

Affect \\Af*fect"\\, v. t. [imp. & p. p. {Affected}; p. pr. & vb.
   n. {Affecting}.] [L. affectus, p. p. of afficere to affect by
   active agency; ad + facere to make: cf. F. affectere, L.
   affectare, freq. of afficere. See {Fact}.]
   1. To act upon; to produce an effect or change upon.
      [1913 Webster]

            As might affect the earth with cold heat. --Milton.
      [1913 Webster]

            The climate affected their health and spirits.
                                                  --Macaulay.
      [1913 Webster]

            This proud man affects imperial ?way. --Dryden.
      [1913 Webster]

Attractive \\At*tract"ive\\, a. [Cf. F. attractif.]
   1. Having the power or quality of attracting or drawing; as,
      the attractive force of bodies. --Sir I. Newton.
      [1913 Webster]

            Flowers of a livid yellow, or fleshy color, are most
            attractive to flies.                  --Lubbock.
      [1913 Webster] -- {At*tract"ive*ly}, adv. --
      {At*tract"ive*ness}, n.
      [1913 Webster]

Drunk \\Drunk\\, a.
   1. Intoxicated with, or as with, strong drink; inebriated;
      drunken; -- never used attributively, but always
      predicatively; as, the man is drunk (not, a drunk man).
      [1913 Webster]

            Be not drunk with wine, where in is excess. -- Eph.
                                                  v. 18.
      [1913 Webster]

   Syn: intoxicated, inebriated
        [WordNet 1.5 +PJC]

Jamestown weed \\James"town` weed`\\ (Bot.)
   The poisonous thorn apple or stramonium ({Datura
   stramonium}), a rank weed early noticed at Jamestown,
   Virginia. See {Datura}.
   [1913 Webster]

   Note: This name is often corrupted into jimson, jimpson, and
         gympsum.
         [1913 Webster]

Rale \\R[^a]le\\, n.
   A r[^a]le heard in the chest; see {R[^a]le}, 2.
   [1913 Webster]
"""


@pytest.fixture
def gcide_excerpt(tmp_path):
    path = tmp_path / "gcide.dict"
    path.write_text(GCIDE_EXCERPT, encoding="utf-8")
    return path


def test_gcide_quotations_lose_attributions_and_garbled_lines(gcide_excerpt):
    assert list(gcide_sentences(gcide_excerpt, "quote")) == [
        "As might affect the earth with cold heat.",
        "The climate affected their health and spirits.",
        # "imperial ?way": a character the rendering lost, skipped
        "Flowers of a livid yellow, or fleshy color, are most attractive to flies.",
        "Be not drunk with wine, where in is excess.",
    ]


def test_gcide_definitions_lose_headwords_etymologies_and_labels(gcide_excerpt):
    assert list(gcide_sentences(gcide_excerpt, "def")) == [
        "To infatuate.",
        "To act upon; to produce an effect or change upon.",
        "Having the power or quality of attracting or drawing; as, the attractive force of bodies.",
        "-- At*tract\"ive*ly, adv. -- At*tract\"ive*ness, n.",  # run-in forms: normalized to nothing useful
        "Intoxicated with, or as with, strong drink; inebriated; drunken; -- never used attributively, but "
        "always predicatively; as, the man is drunk (not, a drunk man).",
        # "Syn:" lists are skipped
        "The poisonous thorn apple or stramonium (Datura stramonium), a rank weed early noticed at Jamestown, "
        "Virginia.",
        "See Datura.",
        "A rale heard in the chest; see Rale, 2.",
    ]


def test_gcide_usage_notes(gcide_excerpt):
    assert list(gcide_sentences(gcide_excerpt, "note")) == [
        "This name is often corrupted into jimson, jimpson, and gympsum."]
    with pytest.raises(ValueError, match="kind"):
        next(gcide_sentences(gcide_excerpt, "etymology"))


def test_missing_packages_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="dict-gcide"):
        next(gcide_sentences(tmp_path / "none.dict.dz"))
    with pytest.raises(FileNotFoundError, match="r-cran-janeaustenr"):
        next(austen_sentences(tmp_path))
    with pytest.raises(FileNotFoundError, match="r-cran-tokenizers"):
        next(moby_dick_sentences(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install --no-install-recommends dict-gcide"):
        build_lm_text(tmp_path / "out.txt", ["gcide-quotes"],
                      paths=SourcePaths(gcide=str(tmp_path / "none.dict.dz")))
    assert not (tmp_path / "out.txt").exists()


def test_excluder_drops_exact_utterances_and_long_shared_runs():
    ex = Excluder(["northanger abbey", "it is a truth universally acknowledged that a single man in possession"])
    assert ex("northanger abbey")
    assert not ex("the abbey of northanger abbey")  # a short utterance only matches whole sentences
    assert ex("yes it is a truth universally acknowledged that a single man said she")  # 8 shared words
    assert not ex("it is a truth universally acknowledged that")  # 7


@needs_gcide
def test_installed_gcide_quotations_are_sentences():
    got = list(islice(gcide_sentences(GCIDE, "quote"), 500))
    assert len(got) == 500
    assert "Hope was overthrown, yet could not be abandoned." in got
    assert not [s for s in got if re.search(r"--\S|[\[\]{}\\?]\w|://", s)]  # attributions, markup, URLs


@needs_austen
def test_austen_novels_read_without_r():
    books = read_r_data(AUSTEN)
    assert set(AUSTEN_NOVELS) <= set(books)
    assert books["emma"][0] == "EMMA"
    sentences = list(austen_sentences(AUSTEN))
    assert sentences[0] == "The family of Dashwood had long been settled in Sussex."
    assert "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be " \
           "in want of a wife." in sentences
    assert 30000 < len(sentences) < 33000
    assert not [s for s in sentences if re.match(r"(CHAPTER|Chapter) [IVXL\d]+|EMMA$|PERSUASION$", s)]  # headings


@needs_tokenizers
def test_moby_dick_from_chapter_one_to_the_epilogue_without_headings_or_licence():
    sentences = list(moby_dick_sentences(TOKENIZERS))
    assert sentences[0] == "Call me Ishmael."
    assert sentences[-1] == ("It was the devious-cruising Rachel, that in her retracing search after her missing "
                             "children, only found another orphan.")
    assert 8000 < len(sentences) < 9000
    assert not [s for s in sentences if re.match(r"CHAPTER \d|Epilogue$|ETYMOLOGY", s) or "Gutenberg" in s]


@needs_tokenizers
def test_cli_moby_source(tmp_path):
    out = tmp_path / "moby.txt"
    assert asr_main(["lm-text", str(out), "--sources", "moby"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "call me ishmael"
    assert all(line and normalize_text(line) == line for line in lines)


@needs_austen
def test_cli_writes_normalized_text_and_leaves_out_excluded_utterances(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("Dr. Smith paid $3.50 for 2 books.\n\n", encoding="utf-8")
    dev = tmp_path / "dev.txt"  # an utterance cut from the middle of a sentence, as speech corpora are
    dev.write_text("IT IS A TRUTH UNIVERSALLY ACKNOWLEDGED THAT A SINGLE MAN\n", encoding="utf-8")
    out = tmp_path / "lm" / "text.txt"
    assert asr_main(["lm-text", str(out), "--sources", "austen", "--include", str(extra),
                     "--exclude", str(dev)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert 30000 < len(lines) < 33000
    assert all(line and normalize_text(line) == line for line in lines)
    assert "the family of dashwood had long been settled in sussex" in lines
    assert not [line for line in lines if "truth universally acknowledged" in line]
    assert lines[-1] == "doctor smith paid three dollars fifty cents for two books"

