"""Speed of the model shipped in the package, as a user meets it: load time and real-time factor.

    python bench/bundled.py DATA_DIR [--model DIR] [--threads 2] [--max-utts 100] [--json OUT]

* first load: ``asr.load_model()`` in a fresh process with an empty cache (the LM is unpacked);
* load: the same again with the cache filled (what every later use costs);
* RTF: ``Recognizer.recognize`` (segmentation, features, network, search, word times) on each
  utterance's file, one at a time as ``asr transcribe`` does, with the LM (decode.json) and greedy;
  compute seconds / audio seconds, audio decoding included.

Each load runs in its own Python process (imports included, as in `asr transcribe`). The JSON goes
into the model card (``asr bundle --speed``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOAD = ("import time, sys; t = time.perf_counter(); import asr, torch; torch.set_num_threads({threads}); "
        "asr.load_model({model!r}, device='cpu'); print(time.perf_counter() - t)")


def load_seconds(model: str | None, threads: int, cache: str) -> float:
    env = {**os.environ, "ASR_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, "-c", LOAD.format(threads=threads, model=model)], env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir")
    ap.add_argument("--model", help="model directory (default: the bundled one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-utts", type=int, default=100)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    import torch

    from asr.data.audio import load_audio
    from asr.data.datadir import read_datadir
    from asr.transcribe import load_model

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as cache:
        first = load_seconds(args.model, args.threads, cache)
        again = min(load_seconds(args.model, args.threads, cache) for _ in range(2))
    dd = read_datadir(args.data_dir)
    utts = dd.utt_ids[: args.max_utts]
    audio_s = sum(len(load_audio(dd.audio_path(u))) / 16000 for u in utts)
    out = {"load_seconds": round(again, 3), "first_load_seconds": round(first, 3), "threads": args.threads,
           "utterances": len(utts), "audio_seconds": round(audio_s, 1), "data": str(args.data_dir),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "command": f"python bench/bundled.py {args.data_dir} --threads {args.threads} --max-utts {args.max_utts}"}
    for name, decoder in (("lm", None), ("greedy", "greedy")):
        rec = load_model(args.model, device="cpu", decoder=decoder)
        rec.transcribe(dd.audio_path(utts[0]))  # warm-up: first-call allocations
        t = time.perf_counter()
        for u in utts:
            rec.recognize(dd.audio_path(u))
        out[f"rtf_{name}"] = round((time.perf_counter() - t) / audio_s, 4)
        print(f"{name}: RTF {out[f'rtf_{name}']:.4f} over {audio_s:.0f} s of audio ({len(utts)} files)")
    print(f"load: {again:.2f} s (first, unpacking the LM: {first:.2f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
