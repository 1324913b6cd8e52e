"""Long-audio benchmark of ``asr transcribe``: accuracy against per-utterance decoding, word times,
memory and speed on a recording built from a data directory.

    python bench/long_audio.py --model-dir exp/synth/bilstm_ctc/model --data data/synth/test

1. Recordings: the data directory's utterances in random order, each followed by a random pause
   (uniform ``--pause`` seconds, digital silence), until ``--minutes`` (and ``--long-minutes``,
   cycling through the utterances again) of audio; 16 kHz FLAC, written in blocks. The placement of
   every utterance is known. ``--noise-db -60`` adds Gaussian noise everywhere (pauses and speech).
2. Baseline: every placed utterance decoded alone (its file, no segmentation), as ``asr decode`` does.
   With noise, also each utterance's span cut from the recording at its known boundaries, which
   separates what the noise costs from what segmentation costs.
3. Long run: the recording transcribed by ``Recognizer.recognize`` in a child process (model load and
   transcription timed apart; peak RSS of the child from ``wait4``), output as ``asr transcribe -f json``.
4. WER of both against the concatenated references (jiwer). Word times: the reference boundaries are
   the forced alignment of the *reference text* on each utterance alone (``Recognizer.align``, the
   same model), shifted by the utterance's offset in the recording; hypothesis words are paired with
   reference words by the WER alignment (equal or substituted; of the alignments with the WER's edit
   count, the one with the most words on time, ``pairs``), and a reference word counts as
   on time when its paired word starts and ends within ``--tolerance`` of it. Reported over all
   reference words (unpaired ones count as misses) and over the correctly recognized ones (a
   misrecognized word's span is the model's business, not the timestamps'); the same figures for
   the utterances decoded one by one give the ceiling, and the long run's words against the
   one-by-one words show what segmentation alone changes. As a model-independent check, the first
   word of each utterance is compared with the true start of its speech (first 10 ms frame above
   -50 dBFS in the utterance file). ``word_time_misses_<run>.tsv`` lists every reference word not on
   time, with the word it was paired with, to read what the misses are.
5. Peak RSS of the long recording's run over the short one's, and real-time factors
   (transcription seconds / audio seconds) on this machine's threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf

from asr.model.layout import ONNX_MODEL

SR = 16000

CHILD = r"""
import json, sys, time
t0 = time.time()
import torch
from asr.transcribe import load_model
from asr.transcribe.formats import write_outputs
rec = load_model(sys.argv[1], device="cpu", backend=sys.argv[2], decoder=sys.argv[5] or None)
t1 = time.time()
transcript = rec.recognize(sys.argv[3])
t2 = time.time()
write_outputs(transcript, sys.argv[4], "transcript", ["json"])
print(json.dumps({"load_s": t1 - t0, "transcribe_s": t2 - t1, "audio_s": transcript.duration,
                  "threads": torch.get_num_threads(), "backend": rec.backend, "decoder": rec.decoder.name,
                  "segments": len(transcript.segments)}))
"""


def build_recording(path: Path, utts: list[tuple[str, np.ndarray, str]], minutes: float, pause: tuple[float, float],
                    seed: int, noise_db: float | None = None) -> list[tuple[float, int]]:
    """Write the recording; return ``(offset seconds, utterance index)`` per placed utterance."""
    rng = np.random.default_rng(seed)
    noise_std = 0.0 if noise_db is None else 10 ** (noise_db / 20)
    placed, pos, target = [], 0, int(minutes * 60 * SR)
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16", format="FLAC") as f:
        lead = np.zeros(SR // 2, np.float32)
        f.write(lead + rng.normal(0, noise_std, len(lead)).astype(np.float32))
        pos += len(lead)
        while pos < target:
            for i in rng.permutation(len(utts)):
                w = utts[i][1]
                gap = np.zeros(int(rng.uniform(*pause) * SR), np.float32)
                chunk = np.concatenate([w, gap])
                f.write(np.clip(chunk + rng.normal(0, noise_std, len(chunk)).astype(np.float32), -1, 1))
                placed.append((pos / SR, int(i)))
                pos += len(chunk)
                if pos >= target:
                    break
    return placed


def run_child(model_dir: str, backend: str, audio: Path, out_dir: Path, decoder: str) -> dict:
    """Transcribe in a fresh process; its stats plus ``peak_rss_mb`` (ru_maxrss of the child alone)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, model_dir, backend, str(audio), str(out_dir), decoder],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"transcription child failed with status {status}")
    stats = json.loads(out.strip().splitlines()[-1])
    stats["peak_rss_mb"] = usage.ru_maxrss / 1024
    stats["rtf"] = stats["transcribe_s"] / stats["audio_s"]
    return stats


def speech_onset(wave: np.ndarray, db: float = -50.0) -> float:
    frames = wave[: len(wave) // 160 * 160].reshape(-1, 160)
    loud = np.flatnonzero(10 * np.log10((frames.astype(np.float64) ** 2).mean(1) + 1e-10) > db)
    return loud[0] * 0.01 if len(loud) else 0.0


def on_time(ref: tuple[str, float, float], hyp: tuple[str, float, float], tol: float) -> bool:
    """Whether ``hyp`` starts and ends within ``tol`` seconds of ``ref`` (word, start, end)."""
    return abs(hyp[1] - ref[1]) <= tol and abs(hyp[2] - ref[2]) <= tol


_PAIR, _DELETE, _INSERT = b"pdi"  # backtrace moves of ``pairs``, one byte a cell


def pairs(ref_words: list[tuple[str, float, float]], hyp_words: list[tuple[str, float, float]],
          tol: float) -> dict[int, int]:
    """Reference word index -> hypothesis word index, for words paired (equal or substituted) by the WER alignment.

    Of the alignments with the fewest edits (the WER's), the one that pairs the most words within ``tol``
    seconds at both ends: edit distance alone leaves ties that any backtrace breaks arbitrarily, e.g.
    "young athletes antarctica" -> "youngathletes entarctica" is 3 edits with "antarctica" deleted or with it
    paired to "entarctica" at its own time, and only the second says what the timestamps did.
    """
    n, m = len(ref_words), len(hyp_words)
    big = n + m + 1  # one edit outweighs any number of on-time pairs: the edit count stays the WER's
    prev = [j * big for j in range(m + 1)]
    move = [bytearray([_INSERT]) * (m + 1)]  # two cost rows and a byte a cell: an hour of words fits
    for i in range(1, n + 1):
        ref = ref_words[i - 1]
        row, how_row = [i * big] + [0] * m, bytearray([_DELETE]) * (m + 1)
        for j in range(1, m + 1):
            hyp = hyp_words[j - 1]
            best = prev[j - 1] + (0 if hyp[0] == ref[0] else big) - on_time(ref, hyp, tol)
            how = _PAIR
            if prev[j] + big < best:
                best, how = prev[j] + big, _DELETE
            if row[j - 1] + big < best:
                best, how = row[j - 1] + big, _INSERT
            row[j], how_row[j] = best, how
        prev = row
        move.append(how_row)
    out: dict[int, int] = {}
    i, j = n, m
    while i or j:
        how = move[i][j]
        if how == _PAIR:
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif how == _DELETE:
            i -= 1
        else:
            j -= 1
    return out


def miss_kind(ref: tuple[str, float, float], hyp: tuple[str, float, float] | None, tol: float) -> str | None:
    """Why reference word ``ref`` is not on time, given its paired hypothesis word (``None``: unpaired); ``None``
    when it is (starts and ends within ``tol`` seconds). Words the recognizer dropped, words it got wrong (a
    merge such as "these events" -> "dhesevents" spans two reference words), recognized words off time."""
    if hyp is None:
        return "deleted"
    if on_time(ref, hyp, tol):
        return None
    return "recognized_off_time" if hyp[0] == ref[0] else "substituted_off_time"


MISS_KINDS = ("deleted", "substituted_off_time", "recognized_off_time")


def write_misses(path: Path, ref_words: list, hyp_words: list, tol: float, paired: dict[int, int]) -> None:
    """One line per reference word not on time: its times, and the paired hypothesis word's (or 'deleted')."""
    lines = ["ref_word\tref_start\tref_end\thyp_word\thyp_start\thyp_end\tkind"]
    for r, ref in enumerate(ref_words):
        hyp = hyp_words[paired[r]] if r in paired else None
        kind = miss_kind(ref, hyp, tol)
        if kind is not None:
            h = f"{hyp[0]}\t{hyp[1]:.3f}\t{hyp[2]:.3f}" if hyp is not None else "\t\t"
            lines.append(f"{ref[0]}\t{ref[1]:.3f}\t{ref[2]:.3f}\t{h}\t{kind}")
    path.write_text("\n".join(lines) + "\n")


def ms_stats(errors: list[float]) -> dict:
    return {"median_ms": 1000 * float(np.median(errors)), "p90_ms": 1000 * float(np.percentile(errors, 90))}


def word_time_agreement(ref_words: list, hyp_words: list, tol: float, paired: dict[int, int] | None = None) -> dict:
    """How many reference words have a hypothesis word (paired by the WER alignment, ``pairs``) that starts and
    ends within ``tol`` seconds of them: over all reference words (unpaired ones count as misses), and
    over the correctly recognized ones (the same word), where a time is meaningful."""
    paired = pairs(ref_words, hyp_words, tol) if paired is None else paired
    kinds = [miss_kind(ref, hyp_words[paired[r]] if r in paired else None, tol) for r, ref in enumerate(ref_words)]
    same = [r for r, h in paired.items() if ref_words[r][0] == hyp_words[h][0]]
    return {"ref_words": len(ref_words), "paired": len(paired), "correct": len(same),
            "misses": {k: kinds.count(k) for k in MISS_KINDS},
            "fraction_of_all_within_tol": kinds.count(None) / len(ref_words),
            "fraction_of_correct_within_tol": sum(kinds[r] is None for r in same) / max(1, len(same)),
            "start_error_correct": ms_stats([abs(hyp_words[paired[r]][1] - ref_words[r][1]) for r in same]),
            "end_error_correct": ms_stats([abs(hyp_words[paired[r]][2] - ref_words[r][2]) for r in same])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model-dir", default="exp/synth/bilstm_ctc/model")
    p.add_argument("--data", default="data/synth/test")
    p.add_argument("--out-dir", default="bench/out/long_audio")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--long-minutes", type=float, default=60.0, help="0: skip the memory comparison")
    p.add_argument("--pause", type=float, nargs=2, default=(0.2, 2.0), help="pause range after each utterance, s")
    p.add_argument("--noise-db", type=float, help="add Gaussian noise at this level (dBFS) everywhere")
    p.add_argument("--tolerance", type=float, default=0.1, help="word time tolerance, seconds")
    p.add_argument("--backends", default="torch", help="comma-separated: torch, onnx (needs model.onnx)")
    p.add_argument("--decoder", default="greedy", choices=["greedy", "model"],
                   help="model: the model directory's tuned decode.json (beam search, LM) if it has one")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import torch

    from asr.data.audio import load_audio
    from asr.data.datadir import read_datadir
    from asr.transcribe import load_model
    from asr.transcribe.segmenter import AudioSegment

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dd = read_datadir(args.data)
    utts = [(u, load_audio(dd.audio_path(u)), dd.text[u]) for u in dd.utt_ids]
    decoder = "greedy" if args.decoder == "greedy" else ""
    rec = load_model(args.model_dir, device="cpu", backend="torch", decoder=decoder or None)
    print(f"model {args.model_dir}; {len(utts)} utterances from {args.data}; torch threads {torch.get_num_threads()}")

    short = out / f"recording_{args.minutes:g}min.flac"
    placed = build_recording(short, utts, args.minutes, tuple(args.pause), args.seed, args.noise_db)
    print(f"{short}: {sf.info(short).duration / 60:.2f} min, {len(placed)} utterances")

    # Baseline and references, utterance by utterance.
    t0 = time.time()
    ref_text, base_hyp, base_words, ref_words, onsets = [], [], [], [], []
    for off, i in placed:
        _, wave, text = utts[i]
        ref_text.append(text)
        alone = rec.decode_segments([AudioSegment(round(off * SR), wave)])[0]  # whole utterance, as asr decode
        base_hyp.append(alone.text)
        base_words += [(w.word, w.start, w.end) for w in alone.words]
        ref_words += [(w.word, w.start + off, w.end + off) for w in rec.align(wave, text)]
        onsets.append(off + speech_onset(wave))
    base_s = time.time() - t0
    ref = " ".join(ref_text)
    report: dict = {"model_dir": args.model_dir, "data": args.data, "minutes": args.minutes,
                    "utterances": len(placed), "pause_s": list(args.pause), "noise_db": args.noise_db,
                    "wer_utterance_by_utterance": jiwer.wer(ref, " ".join(base_hyp)),
                    "baseline_rtf": base_s / (sf.info(short).duration),
                    "word_times_one_by_one": word_time_agreement(ref_words, base_words, args.tolerance)}
    if args.noise_db is not None:
        x = load_audio(short)
        cut = [rec.transcribe_waves([x[round(off * SR): round(off * SR) + len(utts[i][1])]])[0] for off, i in placed]
        report["wer_cut_from_recording"] = jiwer.wer(ref, " ".join(cut))
        del x

    runs = {}
    model_dirs = {b: args.model_dir for b in args.backends.split(",")}
    if "onnx" in model_dirs and not (Path(args.model_dir) / ONNX_MODEL).is_file():
        from asr.model.export import export  # a copy with model.onnx: the model directory is left as it is

        model_dirs["onnx"] = str(export(args.model_dir, out / "model_with_onnx", onnx=True))
    for backend, model_dir in model_dirs.items():
        stats = run_child(model_dir, backend, short, out / f"{backend}_{args.minutes:g}min", decoder)
        result = json.loads((out / f"{backend}_{args.minutes:g}min" / "transcript.json").read_text())
        hyp_words = [(w["word"], w["start"], w["end"]) for s in result["segments"] for w in s["words"]]
        stats["wer_long"] = jiwer.wer(ref, result["text"])
        paired = pairs(ref_words, hyp_words, args.tolerance)
        stats["word_times"] = word_time_agreement(ref_words, hyp_words, args.tolerance, paired)
        write_misses(out / f"word_time_misses_{backend}_{args.minutes:g}min.tsv", ref_words, hyp_words,
                     args.tolerance, paired)
        # The same words decoded one by one and in the long recording: what segmentation changes.
        stats["word_times_vs_one_by_one"] = word_time_agreement(base_words, hyp_words, args.tolerance)
        # First word of each utterance vs the true start of its speech (model-independent).
        firsts = np.cumsum([0] + [len(t.split()) for t in ref_text])[:-1]
        errs = [abs(hyp_words[paired[k]][1] - onsets[n]) for n, k in enumerate(firsts) if k in paired]
        stats["utterance_start_vs_true_onset"] = ms_stats(errs)
        runs[f"{backend}_{args.minutes:g}min"] = stats
    if args.long_minutes:
        long = out / f"recording_{args.long_minutes:g}min.flac"
        build_recording(long, utts, args.long_minutes, tuple(args.pause), args.seed + 1, args.noise_db)
        backend = args.backends.split(",")[0]
        stats = run_child(model_dirs[backend], backend, long, out / f"{backend}_{args.long_minutes:g}min", decoder)
        runs[f"{backend}_{args.long_minutes:g}min"] = stats
        short_rss = runs[f"{backend}_{args.minutes:g}min"]["peak_rss_mb"]
        report["rss_ratio_long_over_short"] = stats["peak_rss_mb"] / short_rss
        long.unlink()
    report["runs"] = runs
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")

    print(f"WER, utterances decoded one by one: {100 * report['wer_utterance_by_utterance']:.2f}%")
    if "wer_cut_from_recording" in report:
        print(f"WER, utterances cut from the noisy recording at their boundaries, one by one: "
              f"{100 * report['wer_cut_from_recording']:.2f}%")
    for name, s in runs.items():
        print(f"{name}: {s['backend']} backend, {s['decoder']} decoding, {s['segments']} segments, "
              f"{s['audio_s'] / 60:.1f} min of audio in "
              f"{s['transcribe_s']:.1f} s (+{s['load_s']:.1f} s model load): RTF {s['rtf']:.4f} on "
              f"{s['threads']} threads, peak RSS {s['peak_rss_mb']:.0f} MB")
        if "wer_long" in s:
            delta = 100 * (s["wer_long"] - report["wer_utterance_by_utterance"])
            print(f"  WER {100 * s['wer_long']:.2f}% ({delta:+.2f} vs one by one)")
            for what, wt in (("reference alignment", s["word_times"]),
                             ("reference alignment, utterances decoded one by one", report["word_times_one_by_one"]),
                             ("the words decoded one by one", s["word_times_vs_one_by_one"])):
                print(f"  word times within {1000 * args.tolerance:.0f} ms of {what}: "
                      f"{100 * wt['fraction_of_all_within_tol']:.1f}% of all {wt['ref_words']} words, "
                      f"{100 * wt['fraction_of_correct_within_tol']:.1f}% of the {wt['correct']} recognized "
                      f"(median error start/end {wt['start_error_correct']['median_ms']:.0f}/"
                      f"{wt['end_error_correct']['median_ms']:.0f} ms, p90 {wt['start_error_correct']['p90_ms']:.0f}/"
                      f"{wt['end_error_correct']['p90_ms']:.0f} ms); misses: "
                      + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in wt["misses"].items()))
            on = s["utterance_start_vs_true_onset"]
            print(f"  first word of each utterance vs its true speech onset: median {on['median_ms']:.0f} ms, "
                  f"p90 {on['p90_ms']:.0f} ms")
    if "rss_ratio_long_over_short" in report:
        print(f"peak RSS {args.long_minutes:g} min / {args.minutes:g} min: {report['rss_ratio_long_over_short']:.2f}")
    print(f"report: {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
