"""The transcribe command and the decode -> score stages, on a model that memorized 4 utterances."""

import numpy as np
import pytest
import soundfile as sf

from asr.cli import main as asr_main
from asr.data.audio import load_audio
from asr.data.datadir import read_datadir
from asr.transcribe import load_model


def test_transcribe_any_format_rate_and_channels(overfit_run, tmp_path, capsys):
    dd = read_datadir(overfit_run["data"])
    utt = dd.utt_ids[0]
    wave = load_audio(dd.audio_path(utt))
    # The same speech as 44.1 kHz stereo FLAC and 8-bit-free 22.05 kHz OGG: resampled and mixed down.
    import soxr
    stereo = np.stack([soxr.resample(wave, 16000, 44100)] * 2, axis=1)
    sf.write(tmp_path / "a.flac", stereo, 44100)
    sf.write(tmp_path / "b.ogg", soxr.resample(wave, 16000, 22050), 22050)
    import asr

    rec = asr.load_model(overfit_run["model_dir"], device="cpu")
    assert rec.transcribe(wave) == overfit_run["texts"][utt]
    assert rec.transcribe(stereo, sample_rate=44100) == overfit_run["texts"][utt]
    assert rec.transcribe(tmp_path / "a.flac") == overfit_run["texts"][utt]
    assert rec.transcribe(tmp_path / "b.ogg") == overfit_run["texts"][utt]
    sf.write(tmp_path / "c.mp3", wave, 16000)
    assert rec.transcribe(tmp_path / "c.mp3") == overfit_run["texts"][utt]
    assert asr_main(["transcribe", str(overfit_run["model_dir"]), str(tmp_path / "a.flac")]) == 0
    assert capsys.readouterr().out.strip() == overfit_run["texts"][utt]


def test_transcribe_bad_files_reported_others_still_done(overfit_run, tmp_path, capsys):
    dd = read_datadir(overfit_run["data"])
    good = str(dd.audio_path(dd.utt_ids[1]))
    (tmp_path / "notes.wav").write_text("not audio at all")
    args = ["transcribe", str(overfit_run["model_dir"]), str(tmp_path / "missing.wav"),
            str(tmp_path / "notes.wav"), str(tmp_path), good]
    assert asr_main(args) == 1
    out = capsys.readouterr()
    assert f"{good}\t{overfit_run['texts'][dd.utt_ids[1]]}" in out.out
    assert "missing.wav: no such file" in out.err
    assert "notes.wav: not a readable audio file" in out.err
    assert "is a directory" in out.err


def test_transcribe_needs_no_scoring_stack(overfit_run):
    import subprocess
    import sys

    # A deployment (a GPU image, say) may have torch and soundfile but not jiwer, which only scoring needs.
    dd = read_datadir(overfit_run["data"])
    utt = dd.utt_ids[2]
    code = ("import sys; sys.modules['jiwer'] = None; from asr.cli import main; "
            f"sys.exit(main(['transcribe', {str(overfit_run['model_dir'])!r}, {str(dd.audio_path(utt))!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == overfit_run["texts"][utt]


def test_decode_and_score_stages(overfit_run, tmp_path, capsys):
    out = tmp_path / "decode"
    assert asr_main(["decode", str(overfit_run["model_dir"]), str(overfit_run["data"]), str(out)]) == 0
    assert asr_main(["score", str(overfit_run["data"] / "text"), str(out / "hyp.txt"), "--out-dir", str(out)]) == 0
    assert "%WER 0.00" in capsys.readouterr().out
    assert (out / "per_utt.txt").read_text().count("REF: ") == 4


def _long_recording(overfit_run, rounds=2, seed=0):
    """The 4 memorized utterances ``rounds`` times, with random pauses and faint noise.

    Returns the 16 kHz recording and, per placed utterance, ``(offset seconds, wave, text)``.
    """
    dd = read_datadir(overfit_run["data"])
    rng = np.random.default_rng(seed)
    parts, placed, pos = [np.zeros(16000, np.float32)], [], 16000
    for _ in range(rounds):
        for u in dd.utt_ids:
            w = load_audio(dd.audio_path(u))
            placed.append((pos / 16000, w, overfit_run["texts"][u]))
            pause = np.zeros(int(rng.uniform(0.4, 1.5) * 16000), np.float32)
            parts += [w, pause]
            pos += len(w) + len(pause)
    x = np.concatenate(parts)
    return x + rng.normal(0, 1e-3, len(x)).astype(np.float32), placed


def test_long_recording_segments_word_times_and_every_format(overfit_run, tmp_path):
    """A 25 s recording in, one segment per utterance out, words timed as forced alignment times them.

    The memorized utterances are recognized exactly only without any silence around them (this
    model has seen nothing else), so the text is checked against decoding each segment alone and
    word times only where the word was recognized; bench/long_audio.py measures WER on a real model.
    """
    import json

    import jiwer
    import soxr

    from asr.transcribe.segmenter import Segmenter

    x, placed = _long_recording(overfit_run)
    sf.write(tmp_path / "long.flac", np.stack([soxr.resample(x, 16000, 44100)] * 2, axis=1), 44100)
    out = tmp_path / "out"
    args = ["transcribe", str(overfit_run["model_dir"]), str(tmp_path / "long.flac"), "-f", "all", "-o", str(out),
            "--batch-seconds", "10"]
    assert asr_main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"long.{e}" for e in ("json", "srt", "tsv", "txt", "vtt")]
    result = json.loads((out / "long.json").read_text())
    segs = result["segments"]
    assert len(segs) == len(placed)
    for seg, (off, wave, _) in zip(segs, placed, strict=True):
        assert off - 0.25 <= seg["start"] <= off + 0.02 and off + len(wave) / 16000 - 0.05 <= seg["end"]
        assert all(seg["start"] <= w["start"] < w["end"] <= seg["end"] for w in seg["words"])
    # Batches of segments decode as each segment alone, stitched in order.
    rec = load_model(overfit_run["model_dir"], device="cpu")
    alone = [rec.transcribe_waves([s.wave])[0] for s in Segmenter(16000).segments([load_audio(tmp_path / "long.flac")])]
    assert [s["text"] for s in segs] == alone
    # Word times against forced alignment of the reference text on each utterance alone, shifted to its place.
    ref = [(w.word, w.start + off, w.end + off) for off, wave, text in placed for w in rec.align(wave, text)]
    hyp = [(w["word"], w["start"], w["end"]) for s in segs for w in s["words"]]
    chunks = jiwer.process_words(" ".join(w for w, _, _ in ref), " ".join(w for w, _, _ in hyp)).alignments[0]
    same = [(ref[c.ref_start_idx + k], hyp[c.hyp_start_idx + k]) for c in chunks if c.type == "equal"
            for k in range(c.ref_end_idx - c.ref_start_idx)]
    assert len(same) >= 8  # not a vacuous check
    assert sum(abs(r[1] - h[1]) <= 0.1 for r, h in same) >= 0.9 * len(same)
    # Ends are looser: out of its training conditions this model stretches some last letters.
    assert sum(abs(r[1] - h[1]) <= 0.1 and abs(r[2] - h[2]) <= 0.1 for r, h in same) >= 0.75 * len(same)
    assert (out / "long.tsv").read_text().count("\n") == len(hyp) + 1
    assert (out / "long.txt").read_text().splitlines() == [s["text"] for s in segs]
    assert (out / "long.vtt").read_text().startswith("WEBVTT") and " --> " in (out / "long.srt").read_text()


def test_stdin_silent_and_empty_inputs(overfit_run, tmp_path, capsys, monkeypatch):
    import io
    import sys

    dd = read_datadir(overfit_run["data"])
    utt = dd.utt_ids[2]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(dd.audio_path(utt).read_bytes())))
    sf.write(tmp_path / "silent.wav", np.zeros(48000, np.float32), 16000)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    args = ["transcribe", str(overfit_run["model_dir"]), "-", str(tmp_path / "silent.wav"), str(tmp_path / "empty.wav"),
            "-f", "json", "-o", str(tmp_path / "out")]
    assert asr_main(args) == 1
    err = capsys.readouterr().err
    assert "silent.wav: no speech found" in err and "empty.wav: contains no audio samples" in err
    assert "2 of 3 file(s) failed" in err
    assert overfit_run["texts"][utt] in (tmp_path / "out" / "stdin.json").read_text()
    assert (tmp_path / "out" / "silent.json").is_file() and not (tmp_path / "out" / "empty.json").exists()


def test_export_checkpoint_to_model_dir_and_onnx_backend(overfit_run, tmp_path, capsys, caplog):
    pytest.importorskip("onnxruntime")
    import torch
    from safetensors.torch import load_file

    from asr.transcribe import Recognizer

    exp = overfit_run["model_dir"].parent
    ckpt = max(exp.glob("epoch-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    out = tmp_path / "exported"
    assert asr_main(["export", str(ckpt), str(out), "--onnx"]) == 0
    assert f"-> {out} (with model.onnx)" in capsys.readouterr().out
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
    weights = load_file(str(out / "model.safetensors"))
    assert weights.keys() == state.keys() and all(torch.equal(weights[k], state[k]) for k in state)
    dd = read_datadir(overfit_run["data"])
    utt = dd.utt_ids[3]
    wave = load_audio(dd.audio_path(utt))
    import soxr

    rec = Recognizer(out, device="cpu", backend="onnx")
    assert rec.transcribe(soxr.resample(wave, 16000, 8000), sample_rate=8000) == \
        Recognizer(out, device="cpu").transcribe(soxr.resample(wave, 16000, 8000), sample_rate=8000)
    assert asr_main(["transcribe", str(out), str(dd.audio_path(utt)), "--onnx"]) == 0
    assert capsys.readouterr().out.strip() == overfit_run["texts"][utt]
    # Weights replaced after the export (training wrote a new best model): --onnx says so.
    weights["head.bias"] += 1.0
    from safetensors.torch import save_file

    save_file(weights, str(out / "model.safetensors"))
    assert asr_main(["transcribe", str(out), str(dd.audio_path(utt)), "--onnx"]) == 0
    assert "exported from other weights" in caplog.text
    # A directory with the network only as ONNX: auto runs it.
    (out / "model.safetensors").unlink()
    assert Recognizer(out, device="cpu").backend == "onnx"
