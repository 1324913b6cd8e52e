"""Streaming recognition, measured: word latency, real-time factor, and concurrent real-time streams.

    python bench/streaming.py MODEL DATA_DIR [--max-utts 100] [--piece-ms 10] [--streams 4,8,12,16]
                              [--reference MODEL] [--json OUT]

* **Latency** of each word: when it became final minus when it ends in the audio. A word is final when
  its last unit is emitted on a final output step (an LC-BLSTM never revises those); "when" is the
  audio that had arrived then, plus the compute time of the call that emitted it (so it is the delay
  a live speaker sees on this machine, provided the stream keeps up). Also the first partial: when
  the word first appeared in a partial result. The word's end in the audio comes from a forced
  alignment of the streaming transcript by the offline BiLSTM (``--reference``, default the model
  shipped in the package), whose CTC spikes are not delayed by missing right context.
* **RTF** of one stream on one thread: compute seconds per second of audio (features, network, greedy).
* **Concurrent streams**: N streams, each a thread fed ``--piece-ms`` pieces at the speed of speech,
  torch on ``--threads`` threads in all. A stream keeps up when, after its last piece, its final
  result comes within ``--keep-up-s`` (default 0.6 s); the largest N where every stream keeps up is
  reported.

Greedy search by default; ``--beam``: the model's beam search with its LM, where a word is final when
every hypothesis in the beam agrees on it (or its segment ends).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import torch

from asr.data.audio import read_audio, resample
from asr.data.datadir import read_datadir
from asr.stream.recognizer import StreamingRecognizer
from asr.transcribe.recognizer import Recognizer


def load_waves(data_dir: str, max_utts: int, rate: int) -> list[tuple[str, np.ndarray]]:
    dd = read_datadir(data_dir)
    out = []
    for utt in dd.utt_ids[:max_utts]:
        start, end = dd.span(utt)
        wave, sr = read_audio(dd.audio_path(utt), start, end)
        out.append((utt, resample(wave, sr, rate)))
    return out


def stream_once(rec: StreamingRecognizer, wave: np.ndarray, piece: int) -> dict:
    """One utterance in pieces as fast as possible, timing each call."""
    s = rec.open(record=True)
    compute = 0.0
    finish_time: dict[int, float] = {}  # emission index -> audio time + that call's compute
    partial_words: list[tuple[float, list[str]]] = []  # (time, the words so far, earlier segments' included)
    stable_words: list[tuple[float, list[str]]] = []  # (time, the words that can no longer change)
    done: list[str] = []  # words of the finished segments
    for i in range(0, len(wave) + piece, piece):
        t = time.perf_counter()
        last = i >= len(wave)
        events = s.close() if last else s.feed(wave[i:i + piece])
        dt = time.perf_counter() - t
        compute += dt
        for k in range(len(finish_time), len(s.emissions)):
            finish_time[k] = s.emissions[k][2] + dt
        for e in events:
            if e.kind == "partial":
                partial_words.append((e.audio_time + dt, done + e.text.split()))
                stable_words.append((e.audio_time + dt, done + e.stable.split()))
            else:
                done = done + e.text.split()
                stable_words.append((e.audio_time + dt, list(done)))
        if last:
            break
    return {"emissions": s.emissions, "finish": finish_time, "partials": partial_words, "stable": stable_words,
            "words": done, "compute": compute}


def beam_latencies(reference: Recognizer, wave: np.ndarray, run: dict) -> dict:
    """Beam search: a word is final when every hypothesis of the beam agrees on it (``stable``)."""
    words = run["words"]
    if not words:
        return {"final": [], "partial": []}
    aligned = reference.align(wave, " ".join(words))
    final, first = [], []
    for n, (word, ref) in enumerate(zip(words, aligned, strict=True)):
        t = next((t for t, ws in run["stable"] if len(ws) > n and ws[n] == word), None)
        if t is not None:
            final.append(t - ref.end)
        seen = next((t for t, ws in run["partials"] if len(ws) > n and ws[n] == word), None)
        if seen is not None:
            first.append(seen - ref.end)
    return {"final": final, "partial": first}


def word_latencies(rec: StreamingRecognizer, reference: Recognizer, wave: np.ndarray, run: dict) -> dict:
    tok = rec.tokenizer
    space = tok.symbols.index("<space>") if "<space>" in tok.symbols else -1
    words, current = [], []
    for k, (unit, _step, _t) in enumerate(run["emissions"]):
        if unit == space:
            if current:
                words.append(current)
            current = []
        else:
            current.append(k)
    if current:
        words.append(current)
    texts = [tok.decode([run["emissions"][k][0] for k in w]).strip() for w in words]
    texts_kept = [(t, w) for t, w in zip(texts, words, strict=True) if t]
    if not texts_kept:
        return {"final": [], "partial": []}
    aligned = reference.align(wave, " ".join(t for t, _ in texts_kept))
    final, first = [], []
    for n, ((text, idx), ref) in enumerate(zip(texts_kept, aligned, strict=True)):
        final.append(run["finish"][idx[-1]] - ref.end)
        seen = next((t for t, ws in run["partials"] if len(ws) > n and ws[n] == text), None)
        if seen is not None:
            first.append(seen - ref.end)
    return {"final": final, "partial": first}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def concurrent(rec: StreamingRecognizer, waves: list[np.ndarray], n: int, piece_ms: float, keep_up_s: float) -> dict:
    """``n`` streams fed at the speed of speech in parallel threads; how far behind each one ends."""
    piece = int(rec.sample_rate * piece_ms / 1000)
    lags, behind = [0.0] * n, [0.0] * n

    def run(j: int) -> None:
        wave = waves[j % len(waves)]
        s = rec.open()
        t0 = time.monotonic()
        worst = 0.0
        for i in range(0, len(wave), piece):
            due = t0 + (i + piece) / rec.sample_rate  # when this piece has been spoken
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            s.feed(wave[i:i + piece])
            worst = max(worst, time.monotonic() - due)
        s.close()
        lags[j] = time.monotonic() - (t0 + len(wave) / rec.sample_rate)
        behind[j] = worst

    threads = [threading.Thread(target=run, args=(j,)) for j in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"streams": n, "max_end_lag_s": round(max(lags), 3), "max_piece_lag_s": round(max(behind), 3),
            "keep_up": max(lags) <= keep_up_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="streaming model directory")
    ap.add_argument("data_dir")
    ap.add_argument("--reference", default=None, help="offline model for word end times (default: the shipped one)")
    ap.add_argument("--max-utts", type=int, default=100)
    ap.add_argument("--piece-ms", type=float, default=10.0, help="audio per feed call in the latency runs")
    ap.add_argument("--streams", default="4,8,12,16", help="concurrent stream counts to try")
    ap.add_argument("--stream-piece-ms", type=float, default=100.0, help="piece size of the concurrent streams")
    ap.add_argument("--stream-utts", type=int, default=16, help="utterances the concurrent streams play")
    ap.add_argument("--keep-up-s", type=float, default=0.6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beam", action="store_true", help="the model's beam search with its LM (decode.json) "
                                                       "instead of greedy")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    torch.set_num_threads(1)  # one stream, one thread: what each of N concurrent streams gets
    rec = StreamingRecognizer(args.model, "cpu", decoder="beam" if args.beam else "greedy")
    reference = Recognizer(args.reference, "cpu", decoder="greedy")
    waves = load_waves(args.data_dir, args.max_utts, rec.sample_rate)
    piece = int(rec.sample_rate * args.piece_ms / 1000)
    final, partial, compute, audio = [], [], 0.0, 0.0
    for _utt, wave in waves:
        run = stream_once(rec, wave, piece)
        lat = beam_latencies(reference, wave, run) if args.beam else word_latencies(rec, reference, wave, run)
        final += lat["final"]
        partial += lat["partial"]
        compute += run["compute"]
        audio += len(wave) / rec.sample_rate
    result = {
        "model": str(args.model), "data": args.data_dir, "decoder": rec.decoder_name, "utterances": len(waves),
        "audio_s": round(audio, 1),
        "words": len(final), "piece_ms": args.piece_ms, "max_lookahead_ms": round(rec.latency_s * 1000),
        "final_latency_ms": {"median": round(1000 * statistics.median(final)), "p95": round(1000 * pct(final, 95)),
                             "mean": round(1000 * statistics.mean(final))},
        "first_partial_latency_ms": {"median": round(1000 * statistics.median(partial)),
                                     "p95": round(1000 * pct(partial, 95))},
        "rtf_one_thread": round(compute / audio, 4),
        "cpu": platform.processor() or platform.machine(),
    }
    print(json.dumps(result, indent=2))
    torch.set_num_threads(args.threads)
    stream_waves = [w for _, w in waves[: args.stream_utts]]
    conc = []
    for n in [int(x) for x in args.streams.split(",")]:
        r = concurrent(rec, stream_waves, n, args.stream_piece_ms, args.keep_up_s)
        print(json.dumps(r))
        conc.append(r)
    result["concurrent"] = conc
    result["max_realtime_streams"] = max([r["streams"] for r in conc if r["keep_up"]], default=0)
    print(f"max concurrent real-time streams on {args.threads} threads: {result['max_realtime_streams']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
