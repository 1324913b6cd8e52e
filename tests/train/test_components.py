"""The training building blocks on their own: SpecAugment, schedules, dev scoring, checkpoints, guards."""

import contextlib
import random

import jiwer
import numpy as np
import pytest
import torch

from asr.train.checkpoint import (
    list_checkpoints,
    prune_checkpoints,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from asr.train.evaluation import edit_distance, error_counts
from asr.train.guards import BatchTooLargeError, NonFiniteGuard, NonFiniteLossError, probe_memory, worst_case_batches
from asr.train.schedule import lr_multiplier
from asr.train.specaugment import SpecAugmentConfig, spec_augment, time_warp


def _batch():
    torch.manual_seed(0)
    return torch.randn(3, 200, 80), torch.tensor([200, 120, 60])


def test_specaugment_masks_stay_inside_each_utterance():
    feats, lens = _batch()
    cfg = SpecAugmentConfig(freq_masks=2, freq_width=10, time_masks=3, time_width=30, time_width_ratio=0.2)
    fill = torch.full((80,), 7.0)
    out = spec_augment(feats, lens, cfg, torch.Generator().manual_seed(1), fill=fill)
    masked = out != feats
    assert masked.any() and (out[masked] == 7.0).all()
    for b, n in enumerate(lens.tolist()):
        assert not masked[b, n:].all(dim=1).any()  # no time mask in the padding
        cols = masked[b, :n].all(dim=0)  # frequency masks cover every frame of a bin
        assert cols.sum() <= cfg.freq_masks * cfg.freq_width
        rows = masked[b, :n].all(dim=1)  # time masks cover every bin of a frame
        assert rows.sum() <= cfg.time_masks * min(cfg.time_width, int(0.2 * n))
    again = spec_augment(feats, lens, cfg, torch.Generator().manual_seed(1), fill=fill)
    assert torch.equal(out, again)  # the generator alone decides
    other = spec_augment(feats, lens, cfg, torch.Generator().manual_seed(2), fill=fill)
    assert not torch.equal(out, other)


def test_specaugment_off_by_default_and_time_warp_keeps_padding():
    feats, lens = _batch()
    assert spec_augment(feats, lens, SpecAugmentConfig(), torch.Generator()) is feats
    warped = time_warp(feats, lens, 5, torch.Generator().manual_seed(0))
    assert warped.shape == feats.shape and not torch.equal(warped, feats)
    assert torch.equal(warped[1, 120:], feats[1, 120:]) and torch.equal(warped[2, 60:], feats[2, 60:])
    # End points stay put: only the inside of each utterance is stretched.
    torch.testing.assert_close(warped[:, 0], feats[:, 0])
    torch.testing.assert_close(warped[1, 119], feats[1, 119])


def test_schedules():
    cos = lr_multiplier("cosine", 10, 110, 0.05)
    assert cos(0) == pytest.approx(0.1) and cos(9) == pytest.approx(1.0) and cos(110) == pytest.approx(0.05)
    noam = lr_multiplier("noam", 100, 1000, 0.0)
    assert noam(99) == pytest.approx(1.0) and noam(399) == pytest.approx(0.5)
    lin = lr_multiplier("linear", 10, 110, 0.0)
    assert lin(60) == pytest.approx(0.5) and lin(110) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_multiplier("step", 1, 2, 0.1)


def test_dev_error_counts_equal_jiwer():
    rng = random.Random(0)
    words = ["a", "cat", "sat", "on", "the", "mat", "dog"]
    refs = [" ".join(rng.choices(words, k=rng.randint(1, 9))) for _ in range(50)]
    hyps = [" ".join(rng.choices(words, k=rng.randint(0, 9))) for _ in range(50)]
    we, nw, ce, nc = error_counts(refs, hyps)
    assert we / nw == pytest.approx(jiwer.wer(refs, hyps))
    assert ce / nc == pytest.approx(jiwer.cer(refs, hyps))
    assert edit_distance("kitten", "sitting") == 3 and edit_distance([], ["x"]) == 1


def test_rng_state_roundtrip_and_atomic_checkpoints(tmp_path):
    state = rng_state(cuda=False)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    for step, (kind, wer) in enumerate([("step", None), ("epoch", 0.5), ("step", None), ("epoch", 0.3),
                                        ("epoch", 0.4)], 1):
        name = f"{kind}-{step}.pt"
        save_checkpoint(tmp_path / name, {"position": {"epoch": step + (kind == "epoch"), "batch": 0, "step": step},
                                          "metrics": {"dev_wer": wer}, "rng": [state]})
    assert not list(tmp_path.glob("*.tmp"))
    assert [c.step for c in list_checkpoints(tmp_path)] == [1, 2, 3, 4, 5]
    prune_checkpoints(tmp_path, keep_last=2, keep_best=1)  # newest two (4, 5) and best WER (4)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["epoch-4.pt", "epoch-5.pt"]
    prune_checkpoints(tmp_path, keep_last=1, keep_best=1)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["epoch-4.pt", "epoch-5.pt"]


def test_nonfinite_guard_skips_then_stops(tmp_path):
    guard = NonFiniteGuard(3, tmp_path)
    guard.update(True, 1, ["u1", "u2"], float("nan"), float("nan"))
    guard.update(False, 2, ["u3"], 1.0, 1.0)  # a good step resets the count
    guard.update(True, 3, ["u4"], float("inf"), float("nan"))
    guard.update(True, 4, ["u5"], float("nan"), float("nan"))
    with pytest.raises(NonFiniteLossError, match="3 consecutive steps"):
        guard.update(True, 5, ["u6"], float("nan"), float("nan"))
    lines = (tmp_path / "nonfinite_steps.txt").read_text().splitlines()
    assert len(lines) == 4 and "utts=u1,u2" in lines[0]


def test_memory_probe_turns_oom_into_advice():
    class Greedy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, feats, lens):
            if feats.shape[0] * feats.shape[1] > 1000:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
            return (feats.mean(-1, keepdim=True) * self.w).log_softmax(-1), lens

    def loss(log_probs, out_lens, batch):
        return log_probs.sum()

    lengths = [100, 20, 20, 20, 20, 20, 90, 90, 90, 5]
    # most padded frames (6 x 100), most real frames (270)
    assert worst_case_batches([[0, 1, 2, 3, 4, 5], [6, 7, 8], [9]], lengths) == [[0, 1, 2, 3, 4, 5], [6, 7, 8]]
    small = {"feats": torch.randn(2, 100, 4), "feat_lens": torch.tensor([100, 90])}
    big = {"feats": torch.randn(3, 400, 4), "feat_lens": torch.tensor([400, 300, 200])}
    model = Greedy()
    assert probe_memory(model, [small], loss, torch.device("cpu"), contextlib.nullcontext, 2000) == 0
    assert model.w.grad is None  # the probe leaves no gradient behind
    with pytest.raises(BatchTooLargeError, match="lower max_frames .now 2000; try max_frames=1000"):
        probe_memory(model, [small, big], loss, torch.device("cpu"), contextlib.nullcontext, 2000)

