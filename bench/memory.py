"""Peak memory of feature extraction: a 1-hour vs a 10-hour corpus (goal: at most 1.2x).

    python bench/memory.py                              # from data/synth6/train, --nj 2
    python bench/memory.py --small-hours 1 --large-hours 10 --nj 2

Runs ``asr features DATA OUT --nj N --cmvn`` as a subprocess and samples its process tree every
20 ms: the peak of the tree's summed PSS (shared pages counted once, so forked workers are not
double-counted) and the peak RSS of its largest process. The corpora are data dirs over the
utterances of --data; beyond its length, utterances repeat under new ids (same audio files: memory
depends on the number of utterances and frames, not on what was said). Outputs go to /tmp and are
deleted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asr.data.datadir import DataDir, read_datadir, write_datadir


def make_corpus(src: str, hours: float, out: Path) -> tuple[Path, int]:
    """A data dir of ``hours`` of speech from ``src``'s utterances (repeated under new ids if needed)."""
    dd = read_datadir(src)
    if not dd.utt2dur:
        raise SystemExit(f"{src}: needs utt2dur")
    sub, total, rep = DataDir(root=out), 0.0, 0
    while total < hours * 3600:
        for u in dd.utt_ids:
            new = u if rep == 0 else f"rep{rep}-{u}"
            sub.wav[new], sub.text[new] = str(dd.audio_path(u).resolve()), dd.text[u]
            sub.utt2spk[new], sub.utt2dur[new] = dd.utt2spk[u], dd.utt2dur[u]
            total += dd.utt2dur[u]
            if total >= hours * 3600:
                break
        rep += 1
    write_datadir(sub, out)
    return out, len(sub)


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _kib(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; peak summed PSS of its tree, peak RSS of one process (MiB), wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TQDM_DISABLE": "1"})
    peak_pss = peak_rss = 0
    while proc.poll() is None:
        pids = _tree(proc.pid)
        peak_pss = max(peak_pss, sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
        peak_rss = max([peak_rss] + [_kib(f"/proc/{p}/status", "VmHWM:") for p in pids])
        time.sleep(0.02)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read()}")
    return {"pss": peak_pss / 1024, "rss": peak_rss / 1024, "seconds": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/synth6/train")
    p.add_argument("--small-hours", type=float, default=1.0)
    p.add_argument("--large-hours", type=float, default=10.0)
    p.add_argument("--nj", type=int, default=2)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_memory_"))
    try:
        base = measure([sys.executable, "-c", "import asr.features.extract"])  # the imports alone
        print(f"python + torch + asr.features imported: PSS {base['pss']:.0f} MiB, RSS {base['rss']:.0f} MiB")
        res = {}
        for hours in (args.small_hours, args.large_hours):
            data, n = make_corpus(args.data, hours, tmp / f"data_{hours:g}h")
            res[hours] = r = measure([sys.executable, "-m", "asr.cli", "features", str(data), str(tmp / "feats"),
                                      "--nj", str(args.nj), "--cmvn"])
            print(f"{hours:5g} h ({n} utts): peak tree PSS {r['pss']:6.0f} MiB, peak process RSS "
                  f"{r['rss']:6.0f} MiB, {r['seconds']:.0f} s (nj={args.nj})")
            shutil.rmtree(tmp / "feats")
        s, big = res[args.small_hours], res[args.large_hours]
        print(f"RATIO {args.large_hours:g} h / {args.small_hours:g} h: tree PSS {big['pss'] / s['pss']:.2f}x, "
              f"largest-process RSS {big['rss'] / s['rss']:.2f}x  (goal <= 1.2x); above the imports: "
              f"{s['pss'] - base['pss']:.0f} -> {big['pss'] - base['pss']:.0f} MiB PSS")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
