"""The word pairing of ``bench/long_audio.py``: the WER's edit count, ties broken by time."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import jiwer
import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "long_audio.py"
_spec = importlib.util.spec_from_file_location("long_audio", _PATH)
long_audio = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(long_audio)


def edits(ref: list, hyp: list, paired: dict[int, int]) -> int:
    subs = sum(ref[r][0] != hyp[h][0] for r, h in paired.items())
    return subs + (len(ref) - len(paired)) + (len(hyp) - len(paired))


def test_tie_goes_to_the_word_at_the_same_time():
    ref = [("young", 1.00, 1.24), ("athletes", 1.27, 1.72), ("antarctica", 2.75, 3.41)]
    hyp = [("youngathletes", 1.01, 1.73), ("entarctica", 2.74, 3.40)]
    paired = long_audio.pairs(ref, hyp, 0.1)
    # The merge covers "young" or "athletes" (neither on time); "antarctica" is not the deleted word.
    assert paired[2] == 1 and len(paired) == 2
    assert long_audio.miss_kind(ref[2], hyp[paired[2]], 0.1) is None
    # The same words far from each other's times: still paired as the edit count allows, and off time.
    late = [(w, s + 5.0, e + 5.0) for w, s, e in hyp]
    assert edits(ref, late, long_audio.pairs(ref, late, 0.1)) == 3


@pytest.mark.parametrize("seed", range(20))
def test_edit_count_is_the_wer_alignment(seed):
    rng = random.Random(seed)
    vocab = ["a", "the", "cat", "sat", "on", "mat", "dog", "ran"]
    ref_text = [rng.choice(vocab) for _ in range(rng.randint(1, 30))]
    hyp_text = [w for w in ref_text if rng.random() > 0.2]
    hyp_text = [rng.choice(vocab) if rng.random() < 0.2 else w for w in hyp_text]
    hyp_text += [rng.choice(vocab) for _ in range(rng.randint(0, 3))]
    if not hyp_text:
        hyp_text = ["a"]
    ref = [(w, 0.3 * k, 0.3 * k + 0.2) for k, w in enumerate(ref_text)]
    hyp = [(w, 0.3 * k + rng.uniform(-0.3, 0.3), 0.3 * k + 0.2) for k, w in enumerate(hyp_text)]
    out = jiwer.process_words(" ".join(ref_text), " ".join(hyp_text))
    assert edits(ref, hyp, long_audio.pairs(ref, hyp, 0.1)) == out.substitutions + out.deletions + out.insertions
