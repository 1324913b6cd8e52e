"""recipes/librispeech/run.sh end to end on a tiny LibriSpeech tree: every stage, BPE units, one tiny epoch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from corpus_layouts import SENTENCES, make_librispeech

from asr.data.datadir import read_datadir
from asr.text.bpe import BPETokenizer
from asr.transcribe import load_model

REPO = Path(__file__).resolve().parents[2]
TINY = ("epochs=1 model.hidden_size=32 model.num_layers=1 model.proj_size=0 warmup_steps=1 max_frames=4000 "
        "num_workers=0 num_threads=1 log_interval=0 device=cpu")


def test_librispeech_recipe_all_stages(tmp_path):
    make_librispeech(tmp_path / "corpus", {
        "train-clean-100": {("19", "198"): SENTENCES[:4], ("103", "1240"): SENTENCES[4:8]},
        "dev-clean": {("84", "121123"): SENTENCES[8:10]},
        "test-clean": {("61", "70968"): SENTENCES[10:12]},
        "test-other": {("367", "130732"): SENTENCES[:2]},
    })
    # The LM text in its place in the data root (librispeech-lm-norm.txt is upper case, one sentence a line).
    (tmp_path / "corpus" / "librispeech-lm-norm.txt").write_text("".join(s.upper() + "\n" for s in SENTENCES))
    data, exp = tmp_path / "data", tmp_path / "exp"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", str(REPO / "recipes/librispeech/run.sh"), "--data-root", str(tmp_path / "corpus"),
         "--data", str(data), "--exp", str(exp), "--nj", "2", "--vocab-size", "40",
         "--decode-sets", "test-clean test-other", "--train-args", TINY],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # Stages 0-1: imported splits, combined train + dev, speed-perturbed training set (3 x 8 utterances).
    assert len(read_datadir(data / "train-clean-100")) == 8 and len(read_datadir(data / "dev")) == 2
    train_sp = read_datadir(data / "train_sp")
    assert len(train_sp) == 24 and "sp0.9-19-198-0000" in train_sp.wav
    # Stage 2-4: BPE units travel with the model.
    model_dir = exp / "bilstm_ctc_bpe40" / "model"
    assert (model_dir / "bpe.model").is_file()
    rec = load_model(model_dir, device="cpu")
    assert isinstance(rec.tokenizer, BPETokenizer)
    assert isinstance(rec.transcribe(train_sp.audio_path("19-198-0000")), str)
    # Stages 6-7: decoded and scored test sets, and a filled RESULTS.md.
    for t in ("test-clean", "test-other"):
        for d in ("greedy", "beam50_lm4"):  # the word LM's beam search works with BPE units
            report = json.loads((exp / "bilstm_ctc_bpe40" / f"decode_{t}_{d}" / "wer.json").read_text())
            assert report["num_utts"] == 2
    assert json.loads((model_dir / "decode.json").read_text())["beam"] == 50  # tuned on dev in stage 5
    results = (exp / "bilstm_ctc_bpe40" / "RESULTS.md").read_text()
    assert "{{" not in results and "| greedy |" in results and "train-clean-100: 0.0" in results
    assert "40 BPE" in results and "1 of 1 epochs" in results
