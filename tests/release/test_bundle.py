"""`asr bundle` on a real (small) trained and LM-tuned model: fp16 weights, gzipped LM unpacked to the cache once,
the same transcripts as the model directory it came from, and the commands that take a bundle."""

import gzip
import json
import shutil

import pytest
from safetensors.torch import load_file

from asr.cli import main as asr_main
from asr.data.datadir import read_datadir
from asr.decode.kenlm_binary import find_build_binary, is_kenlm_binary
from asr.model.bundled import resolve_model_dir
from asr.transcribe import load_model


@pytest.fixture(scope="module")
def tuned_model(overfit_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    model = root / "model"
    shutil.copytree(overfit_run["model_dir"], model)
    (root / "lm.txt").write_text("".join(t + "\n" for t in overfit_run["texts"].values()))
    assert asr_main(["lm", str(root / "lm.txt"), str(root / "lm"), "--order", "2"]) == 0
    assert asr_main(["tune-lm", str(model), str(overfit_run["data"]), "--lm", str(root / "lm"), "--beam", "8",
                     "--lm-weights", "0.5", "--word-scores", "0", "--nj", "1"]) == 0
    return model, root / "lm"


def test_bundle_is_fp16_gzipped_and_transcribes_as_the_original(tuned_model, overfit_run, tmp_path, monkeypatch,
                                                                 capsys):
    model, lm = tuned_model
    out = tmp_path / "bundle"
    assert asr_main(["bundle", str(model), str(out), "--command", "asr bundle (test)",
                     "--kenlm-build-binary", "none"]) == 0
    assert "card:" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert names == {"model.safetensors", "config.json", "tokens.txt", "decode.json", "lm.arpa.gz", "lexicon.txt.gz",
                     "card.json", "README.md"}
    weights, original = load_file(str(out / "model.safetensors")), load_file(str(model / "model.safetensors"))
    lstm = [k for k in weights if "lstm" in k or "weight" in k]
    assert lstm and all(str(weights[k].dtype) == "torch.float16" for k in lstm)
    assert all((weights[k].float() - original[k]).abs().max() < 1e-2 for k in lstm)
    assert (out / "model.safetensors").stat().st_size < 0.6 * (model / "model.safetensors").stat().st_size
    assert json.loads((out / "decode.json").read_text())["lm"] == "lm.arpa"
    card = json.loads((out / "card.json").read_text())
    assert card["parameters"] > 0 and card["decoding"]["lm_counts"][0] > 0 and card["command"] == "asr bundle (test)"
    assert "## Limits" in (out / "README.md").read_text()

    monkeypatch.setenv("ASR_CACHE_DIR", str(tmp_path / "cache"))
    unpacked = resolve_model_dir(out)
    assert unpacked.parent == tmp_path / "cache"
    assert (unpacked / "lm.arpa").read_bytes() == (lm / "lm.arpa").read_bytes()
    assert gzip.decompress((out / "lexicon.txt.gz").read_bytes()) == (lm / "lexicon.txt").read_bytes()
    assert resolve_model_dir(out) == unpacked  # unpacked once
    monkeypatch.chdir(tmp_path)  # a relative bundle path: the cache's links must still reach its files
    assert (resolve_model_dir("bundle") / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [unpacked.name]  # no temporary left behind

    dd = read_datadir(overfit_run["data"])
    fp32, fp16 = load_model(model, device="cpu"), load_model(out, device="cpu")
    assert fp16.decoder.name.startswith("beam") and "lm" in fp16.decoder.name
    for utt in dd.utt_ids:
        assert fp16.transcribe(dd.audio_path(utt)) == fp32.transcribe(dd.audio_path(utt)) == overfit_run["texts"][utt]

    utt = dd.utt_ids[0]
    assert asr_main(["transcribe", "-m", str(out), str(dd.audio_path(utt))]) == 0
    assert capsys.readouterr().out.strip() == overfit_run["texts"][utt]
    assert asr_main(["decode", "-m", str(out), str(overfit_run["data"]), str(tmp_path / "dec")]) == 0
    hyp = dict(line.split(maxsplit=1) for line in (tmp_path / "dec" / "hyp.txt").read_text().splitlines())
    assert hyp == {u: overfit_run["texts"][u] for u in dd.utt_ids}

    # The same bundle installed elsewhere and the first copy removed: the cache entry's links would dangle.
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    shutil.rmtree(out)
    assert resolve_model_dir(moved) == unpacked
    assert (unpacked / "config.json").read_bytes() == (moved / "config.json").read_bytes()
    assert load_model(moved, device="cpu").transcribe(dd.audio_path(utt)) == overfit_run["texts"][utt]

    # The same weights with another LM under the same file name: an entry of its own, not the other's LM.
    other = tmp_path / "other_lm"
    shutil.copytree(moved, other)
    (other / "lm.arpa.gz").write_bytes(gzip.compress(b"\\data\\\nngram 1=0\n\n\\end\\\n"))
    assert resolve_model_dir(other) != unpacked
    assert (resolve_model_dir(other) / "lm.arpa").read_text().startswith("\\data\\")
    assert (unpacked / "lm.arpa").read_bytes() == (lm / "lm.arpa").read_bytes()


@pytest.mark.skipif(find_build_binary() is None, reason="KenLM's build_binary is not installed "
                    "(recipes/tools/install_kenlm.sh; .ci/run installs it)")
def test_bundle_ships_the_lm_in_kenlm_binary_form(tuned_model, overfit_run, tmp_path, monkeypatch):
    model, lm = tuned_model
    out = tmp_path / "bundle"
    assert asr_main(["bundle", str(model), str(out)]) == 0
    assert {"lm.bin.gz", "lexicon.txt.gz"} <= {p.name for p in out.iterdir()} and not (out / "lm.arpa.gz").exists()
    assert json.loads((out / "decode.json").read_text())["lm"] == "lm.bin"
    monkeypatch.setenv("ASR_CACHE_DIR", str(tmp_path / "cache"))
    assert is_kenlm_binary(resolve_model_dir(out) / "lm.bin")
    dd = read_datadir(overfit_run["data"])
    rec = load_model(out, device="cpu")
    assert rec.decoder.name.startswith("beam") and "lm" in rec.decoder.name
    assert [rec.transcribe(dd.audio_path(u)) for u in dd.utt_ids] == [overfit_run["texts"][u] for u in dd.utt_ids]


def test_bundle_needs_a_tuned_lm(overfit_run, tmp_path):
    assert asr_main(["bundle", str(overfit_run["model_dir"]), str(tmp_path / "b")]) == 1
    assert not (tmp_path / "b").exists() and not list(tmp_path.iterdir())


def test_old_and_new_argument_forms(tuned_model, overfit_run, tmp_path, capsys):
    model, _ = tuned_model
    dd = read_datadir(overfit_run["data"])
    wav = str(dd.audio_path(dd.utt_ids[1]))
    assert asr_main(["transcribe", str(model), wav]) == 0  # asr transcribe MODEL FILE, as before
    assert capsys.readouterr().out.strip() == overfit_run["texts"][dd.utt_ids[1]]
    assert asr_main(["transcribe", str(model)]) == 1  # a model and no audio: said so
    assert asr_main(["decode", str(model), str(overfit_run["data"]), str(tmp_path / "d1"), "--greedy"]) == 0
    assert asr_main(["decode", "-m", str(model), str(model), str(overfit_run["data"]), str(tmp_path / "d2")]) == 1


def test_card_counts_every_training_round(tuned_model, overfit_run, tmp_path):
    """release.sh's rounds (exp/bilstm_ctc, exp/round2/bilstm_ctc, ...) are summed in order, round 10 after 3."""
    model, _ = tuned_model
    run = overfit_run["model_dir"].parent
    exp = tmp_path / "exp"
    for name in ("bilstm_ctc", "round2/bilstm_ctc", "round10/bilstm_ctc", "round3/bilstm_ctc"):
        (exp / name).mkdir(parents=True)
        for f in ("metrics.jsonl", "steps.csv", "train_config.yaml"):
            shutil.copy(run / f, exp / name / f)
    (exp / "roundabout" / "bilstm_ctc").mkdir(parents=True)  # not a round
    assert asr_main(["bundle", str(model), str(tmp_path / "b"), "--exp", str(exp), "--kenlm-build-binary", "none"]) == 0
    training = json.loads((tmp_path / "b" / "card.json").read_text())["training"]
    assert [r["run"] for r in training["rounds"]] == ["bilstm_ctc", "round2/bilstm_ctc", "round3/bilstm_ctc",
                                                      "round10/bilstm_ctc"]
    one = training["rounds"][0]
    assert one["epochs"] == 110 and one["steps"] > 0
    assert training["epochs"] == 4 * one["epochs"] and training["steps"] == 4 * one["steps"]
