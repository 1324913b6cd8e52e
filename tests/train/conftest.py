"""Fixtures of the training tests."""

from __future__ import annotations

import pytest
from train_helpers import train_args


@pytest.fixture(scope="session")
def small_run_args(tiny_corpus, tiny_feats):
    """``small_run_args(exp_dir, *extra)``: overrides for a seconds-long run on the tiny corpus."""
    return lambda exp, *extra: train_args(tiny_corpus, tiny_feats, exp, *extra)
