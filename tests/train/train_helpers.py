"""Helpers for the training tests: small ``asr train`` runs on the tiny generated corpus."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def train_args(corpus: Path, feats: Path, exp: Path, *extra: str) -> list[str]:
    """key=value overrides of a seconds-long run: a 2x32 BiLSTM, batches of a few utterances."""
    return [f"exp_dir={exp}", f"train_data={corpus / 'train'}", f"train_feats={feats / 'train'}",
            f"dev_data={corpus / 'dev'}", f"dev_feats={feats / 'dev'}", "model.hidden_size=32", "model.num_layers=2",
            "max_frames=1500", "warmup_steps=3", "lr=3e-3", "num_threads=1", "tensorboard=false", "plots=false",
            *extra]


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **extra}


def asr_popen(args: list[str], **kw) -> subprocess.Popen:
    """``python -m asr.cli ARGS`` in a fresh process (own threads, own RNG), logs on stderr."""
    return subprocess.Popen([sys.executable, "-m", "asr.cli", *args], cwd=REPO, env=child_env(), text=True, **kw)
