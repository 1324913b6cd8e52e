"""Synthetic-corpus generation throughput: hours of audio per hour of wall time, per engine and overall.

    python bench/synth.py                        # each installed engine, 0.1 h of train audio, --nj 2
    python bench/synth.py --hours 0.3 --nj 2 --augment recipes/synth/conf/augment.yaml

For each engine alone (and then the default mix of every installed engine) it builds a corpus with
``asr synth-corpus`` in a temporary directory (train only matters; dev/test are a few utterances)
and reports the measured train audio over the wall time of the whole build. ``--augment`` then times
``asr augment`` on the mixed corpus's train set. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from asr.data.synth import ALL_ENGINES, SynthConfig, build_synth_corpus
from asr.data.tts import available_engines


def build(out: Path, engines: list[str], hours: float, nj: int, voices: str | None = None
          ) -> tuple[float, float, dict]:
    cfg = SynthConfig(out_dir=str(out), engines=engines, train_hours=hours, dev_utts=4, test_utts=4, nj=nj,
                      voices=voices)
    t0 = time.perf_counter()
    card = build_synth_corpus(cfg, progress=False)
    wall = time.perf_counter() - t0
    audio_h = sum(s["hours"] for s in card["splits"].values())
    return audio_h, wall, card


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hours", type=float, default=0.1, help="train audio per run (estimated)")
    p.add_argument("--nj", type=int, default=2, help="worker processes")
    p.add_argument("--augment", help="also time `asr augment` with this config on the mixed corpus")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()

    engines = available_engines(ALL_ENGINES)
    print(f"installed engines: {', '.join(engines)}; --nj {args.nj}; {args.hours} h of train audio per run")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
        for name, use in [(e, [e] if e == "espeak" else ["espeak", e]) for e in engines] + [("mix", engines)]:
            inv = None
            if name not in ("espeak", "mix"):
                # dev/test need eSpeak; an inventory giving this engine every train utterance.
                inv = Path(tmp) / f"{name}.yaml"
                inv.write_text(f"espeak: {{weight: 0.0, dev: [Mike], test: [m1]}}\n{name}: {{weight: 1.0}}\n")
            audio_h, wall, card = build(Path(tmp) / name, use, args.hours, args.nj, str(inv) if inv else None)
            per_engine = card["splits"]["train"]["utterances_per_engine"]
            rows[name] = {"audio_hours": round(audio_h, 4), "wall_seconds": round(wall, 1),
                          "hours_per_hour": round(audio_h * 3600 / wall, 1), "train_utterances": per_engine,
                          "failed": card["failures_total"]}
            print(f"{name:9s} {audio_h * 3600:7.0f} s of audio in {wall:6.1f} s wall = "
                  f"{audio_h * 3600 / wall:6.1f} h of audio per hour (x real time), train utts {per_engine}, "
                  f"{card['failures_total']} failed")
        if args.augment:
            from asr.cli import main as asr_main

            src = Path(tmp) / "mix" / "train"
            t0 = time.perf_counter()
            rc = asr_main(["augment", str(src), str(Path(tmp) / "aug"), "--config", args.augment,
                           "--nj", str(args.nj)])
            wall = time.perf_counter() - t0
            audio_h = rows["mix"]["audio_hours"]
            rows["augment"] = {"rc": rc, "wall_seconds": round(wall, 1),
                               "hours_per_hour": round(audio_h * 3600 / wall, 1)}
            print(f"augment   {audio_h * 3600:7.0f} s of audio in {wall:6.1f} s wall = "
                  f"{audio_h * 3600 / wall:6.1f} x real time (exit {rc})")
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
