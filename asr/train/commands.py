"""Command line of the training stage: ``asr train`` (YAML + ``key=value``) and ``asr average``.

Building the parsers imports no torch: the run functions import the trainer when called.
"""

from __future__ import annotations

import argparse
import logging


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr train``: TrainConfig is nested (model, optimizer, ...), so YAML + overrides, not flags."""
    p.add_argument("--config", help="YAML file with TrainConfig fields")
    p.add_argument("overrides", nargs="*", help="key=value overrides, e.g. epochs=5 model.hidden_size=256")


def run_train(args: argparse.Namespace) -> int:
    """Train; status 1 when training aborts (the message says what to change)."""
    from asr.config import load_config
    from asr.train.guards import TrainingAborted
    from asr.train.trainer import TrainConfig, train

    cfg = load_config(TrainConfig, args.config, args.overrides)
    try:
        result = train(cfg)
    except TrainingAborted as e:  # out of memory, NaN losses: the message says what to change
        logging.getLogger("asr").error("%s", e)
        return 1
    if not result["history"]:
        print(f"stopped after {result['steps']} steps, before the end of the first epoch ({result['stopped']})")
    else:
        print(f"best dev WER {100 * result['best_dev_wer']:.2f}% -> {result['model_dir']}")
    return 0


def add_average_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``asr average``."""
    p.add_argument("exp_dir", help="training directory with epoch-N.pt checkpoints and model/")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--last", type=int, default=0, help="average the N last epochs")
    group.add_argument("--best", type=int, default=0, help="average the N epochs of lowest dev WER")
    group.add_argument("--last-checkpoints", type=int, default=0,
                       help="average the N newest checkpoints, step-N.pt ones included (one per step)")
    p.add_argument("out_dir", help="output model directory")


def run_average(args: argparse.Namespace) -> int:
    """Average epoch checkpoints into a model directory."""
    from asr.train.average import average_to_model_dir

    out = average_to_model_dir(args.exp_dir, args.out_dir, last=args.last, best=args.best,
                               last_checkpoints=args.last_checkpoints)
    print(f"averaged model -> {out}")
    return 0
