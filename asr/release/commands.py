"""Command line of the release stage: ``asr bundle`` and ``asr models``.

The parsers import no torch; ``asr bundle`` imports it when it runs.
"""

from __future__ import annotations

import argparse
import json


def add_bundle_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir", help="a model directory with a tuned LM (asr tune-lm's decode.json)")
    p.add_argument("out_dir", help="the bundle directory (replaced); the package's is asr/model/bundled_model")
    p.add_argument("--exp", help="the release run's exp dir: scores, metrics and tuning for the card")
    p.add_argument("--data", help="the release run's data dir: its corpus_card.json for the card")
    p.add_argument("--speed", help="bench/bundled.py's JSON (load time, real-time factors) for the card")
    p.add_argument("--command", default="", help="the command that made the model, for the card")
    p.add_argument("--kenlm-build-binary", metavar="PATH", help="KenLM's build_binary, to ship the LM in binary form "
                   "(default: $ASR_KENLM_BUILD_BINARY, else build_binary beside python or on PATH; 'none', or none "
                   "found: the ARPA text)")


def run_bundle(args: argparse.Namespace) -> int:
    from asr.decode.kenlm_binary import find_build_binary
    from asr.release.bundle import bundle_model

    card = bundle_model(args.model_dir, args.out_dir, exp=args.exp, data=args.data, command=args.command,
                        speed=args.speed, build_binary=find_build_binary(args.kenlm_build_binary))
    print(f"{args.out_dir}: {card['bundle']['megabytes']} MB; card: {args.out_dir}/README.md")
    return 0


def add_models_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="the bundled model's whole card as JSON")


def run_models(args: argparse.Namespace) -> int:
    from asr.model.bundled import BUNDLED_DIR, bundled_card, has_bundled_model

    if not has_bundled_model():
        print(f"no model is bundled in this installation ({BUNDLED_DIR}); give one with -m/--model")
        return 1
    card = bundled_card()
    if args.json:
        print(json.dumps(card, indent=2))
        return 0
    m, res = card.get("model", {}), card.get("results", {})
    speed, corpus = card.get("speed", {}), card.get("corpus", {})

    def pct(part: str, kind: str, key: str = "wer") -> str:
        v = res.get(part, {}).get(kind, {}).get(key)
        return f"{v:.1f}%" if v is not None else "-"

    print(f"{card.get('name', 'bundled')} (bundled, the default model): {BUNDLED_DIR}")
    print(f"  {m.get('num_layers')}x{m.get('hidden_size')} BiLSTM-CTC, {card.get('parameters', 0) / 1e6:.1f} M "
          f"parameters, {card.get('bundle', {}).get('megabytes')} MB with its LM")
    if corpus:
        print(f"  trained on {corpus.get('train_hours', 0):.1f} h of synthetic speech, "
              f"{card.get('training', {}).get('seconds', 0) / 60:.0f} min on {card.get('training', {}).get('machine')}")
    print(f"  real speech (LibriSpeech, 250 utts): WER {pct('realdev', 'greedy')} greedy, {pct('realdev', 'lm')} "
          f"with the LM; CER {pct('realdev', 'greedy', 'cer')} greedy")
    print(f"  synthetic test set: WER {pct('test', 'greedy')} greedy, {pct('test', 'lm')} with the LM")
    if speed:
        print(f"  real-time factor {speed.get('rtf_lm', float('nan')):.3f} with the LM, "
              f"{speed.get('rtf_greedy', float('nan')):.4f} greedy; loads in {speed.get('load_seconds', 0):.1f} s "
              f"({speed.get('threads')} threads)")
    print(f"  card: {BUNDLED_DIR / 'README.md'}")
    return 0
