#!/usr/bin/env python3
"""Fill the ``{{field}}`` slots of recipes/librispeech/RESULTS.md from one experiment directory.

Reads ``<exp>/train_config.yaml``, ``<exp>/metrics.jsonl``, ``<exp>/model/{config.json,model.safetensors}``,
``<exp>/decode_<set>_<method>/wer.json`` and the training data dir's ``utt2dur``. A slot whose source
is missing becomes ``n/a``, so a partial run still yields a readable file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

NA = "n/a"


def _git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return NA


def _hardware() -> str:
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True)
        gpus = [g.strip() for g in out.stdout.splitlines() if g.strip()]
        if gpus:
            return f"{len(gpus)} x {gpus[0]} (the machine that filled this file)"
    return f"CPU, {os.cpu_count()} cores (the machine that filled this file)"


def _params(weights: Path) -> str:
    if not weights.is_file():
        return NA
    from safetensors import safe_open

    n = 0
    with safe_open(str(weights), framework="np") as f:
        for key in f.keys():
            shape = f.get_slice(key).get_shape()
            n += math.prod(shape)
    return f"{n / 1e6:.1f}"


def _hours(data_dir: Path) -> str:
    utt2dur = data_dir / "utt2dur"
    if not utt2dur.is_file():
        return NA
    return f"{sum(float(line.split()[1]) for line in utt2dur.read_text().splitlines()) / 3600:.1f}"


def _results_table(exp: Path) -> str:
    scores: dict[str, dict[str, str]] = {}
    sets: list[str] = []
    for wer_json in sorted(exp.glob("decode_*/wer.json")):
        name = wer_json.parent.name[len("decode_"):]
        dataset, _, method = name.partition("_")  # LibriSpeech set names have no '_'
        rep = json.loads(wer_json.read_text())
        scores.setdefault(method, {})[dataset] = (f"{100 * rep['wer']['error_rate']:.2f} "
                                                  f"({100 * rep['cer']['error_rate']:.2f})")
        if dataset not in sets:
            sets.append(dataset)
    if not scores:
        return "(no decoding results yet)"
    order = {s: i for i, s in enumerate(("dev-clean", "dev-other", "test-clean", "test-other"))}
    sets.sort(key=lambda s: (order.get(s, len(order)), s))
    lines = ["| decoding | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for method in sorted(scores, key=lambda m: (m != "greedy", m)):
        lines.append(f"| {method} | " + " | ".join(scores[method].get(s, NA) for s in sets) + " |")
    return "\n".join(lines)


def fields(args: argparse.Namespace) -> dict[str, str]:
    exp = Path(args.exp_dir)
    cfg = yaml.safe_load((exp / "train_config.yaml").read_text()) if (exp / "train_config.yaml").is_file() else {}
    model_meta = exp / "model" / "config.json"
    meta = json.loads(model_meta.read_text()) if model_meta.is_file() else {}
    m = meta.get("model") or cfg.get("model") or {}
    trained = meta.get("trained", {})
    seconds = 0.0
    if (exp / "metrics.jsonl").is_file():
        seconds = sum(json.loads(line).get("epoch_seconds", 0.0)
                      for line in (exp / "metrics.jsonl").read_text().splitlines() if line.strip())
    epochs_run = len((exp / "metrics.jsonl").read_text().splitlines()) if (exp / "metrics.jsonl").is_file() else 0
    lang = Path(args.lang)
    n_units = len((lang / "tokens.txt").read_text().splitlines()) if (lang / "tokens.txt").is_file() else NA
    kind = "BPE (sentencepiece)" if (lang / "bpe.model").is_file() else "characters"
    model = NA
    if m:  # .get: a field renamed in asr/model should cost a "n/a", not the whole report
        proj = f", projection {m['proj_size']}" if m.get("proj_size") else ""
        sub = m.get("subsample")
        model = (f"{m.get('num_layers', NA)} x BiLSTM, {m.get('hidden_size', NA)} cells per direction{proj}; "
                 f"{sub}x frame stacking ({10 * sub if isinstance(sub, int) else NA} ms per output); "
                 f"dropout {m.get('dropout', NA)}")
    return {
        "date": datetime.date.today().isoformat(),
        "git_commit": _git_commit(),
        "train_sets": args.train_sets.strip() or NA,
        "train_hours": _hours(Path(args.train_dir)),
        "speed_perturb": " (original + 0.9x and 1.1x speed copies)" if args.train_dir.rstrip("/").endswith("_sp")
        else "",
        "dev_sets": args.dev_sets.strip() or NA,
        "units": f"{n_units} {kind}, id 0 = CTC blank",
        "model": model,
        "params": _params(exp / "model" / "model.safetensors"),
        "epochs": f"{epochs_run} of {cfg['epochs']:g}" if isinstance(cfg.get("epochs"), int | float)
        else f"{epochs_run} of {NA}",
        "max_frames": str(cfg.get("max_frames", NA)),
        "lr": str(cfg.get("lr", NA)),
        "best_dev_wer": f"{100 * trained['dev_wer']:.2f}" if "dev_wer" in trained else NA,
        "best_epoch": str(trained.get("epoch", NA)),
        "train_time": (f"{seconds / 3600:.2f} h ({seconds / 60 / max(epochs_run, 1):.1f} min per epoch, "
                       f"dev evaluation included)") if seconds else NA,
        "hardware": args.hardware or _hardware(),
        "results_table": _results_table(exp),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--template", default="recipes/librispeech/RESULTS.md")
    p.add_argument("--exp-dir", required=True)
    p.add_argument("--train-dir", required=True, help="training data dir (for hours)")
    p.add_argument("--train-sets", default="", help="names of the combined training sets")
    p.add_argument("--dev-sets", default="")
    p.add_argument("--lang", required=True, help="unit directory (tokens.txt [+ bpe.model])")
    p.add_argument("--hardware", default="", help="what training ran on (default: this machine's GPUs/CPUs)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    values = fields(args)
    template = Path(args.template).read_text()
    template = re.sub(r"<!-- Template\..*?-->\n\n", "", template, flags=re.S)  # the how-to is for the template
    template = template.split("\n---\n")[0] + "\n"  # published runs below the line are not part of a new report
    filled = re.sub(r"\{\{(\w+)\}\}", lambda mt: values.get(mt.group(1), NA), template)
    Path(args.out).write_text(filled)
    print(filled)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
