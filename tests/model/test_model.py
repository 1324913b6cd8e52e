import torch

from asr.features.logmel import FeatureConfig
from asr.model.ctc_model import CTCModel, cepstral_smoother
from asr.model.encoder import ModelConfig, stack_frames
from asr.model.model_dir import load_model_dir, save_model_dir
from asr.text.units import CharTokenizer


def _model(**kw):
    torch.manual_seed(0)
    return CTCModel(ModelConfig(hidden_size=32, num_layers=2, vocab_size=29, dropout=0.0, **kw)).eval()


def _alone_and_beside_a_longer_one(model):
    """``model``'s outputs for a random 40-frame utterance alone and batched with a 95-frame one:
    ``((out, lengths), (out, lengths))``. 40: its last stacked frame is mostly padding."""
    short, long = torch.randn(1, 40, 80), torch.randn(1, 95, 80)
    batch = torch.zeros(2, 95, 80)
    batch[0, :40], batch[1] = short[0], long[0]
    return model(short, torch.tensor([40])), model(batch, torch.tensor([40, 95]))


def test_stack_frames_shapes():
    x = torch.arange(2 * 7 * 2, dtype=torch.float32).reshape(2, 7, 2)
    y, lens = stack_frames(x, torch.tensor([7, 4]), 3)
    assert y.shape == (2, 3, 6) and lens.tolist() == [3, 2]
    assert y[0, 0].tolist() == x[0, :3].flatten().tolist()


def test_padding_does_not_leak_into_backward_direction():
    model = _model(subsample=3)
    (alone, alone_len), (batched, lens) = _alone_and_beside_a_longer_one(model)
    assert lens.tolist() == [14, 32] and alone_len.tolist() == [14]
    torch.testing.assert_close(batched[0, :14], alone[0], atol=1e-5, rtol=1e-5)


def test_projection_and_output_is_log_softmax():
    model = _model(proj_size=16)
    out, lens = model(torch.randn(2, 30, 80), torch.tensor([30, 20]))
    assert out.shape == (2, 10, 29)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(2, 10))


def test_model_dir_roundtrip_without_pickle(tmp_path):
    model = _model()
    model.set_cmvn(torch.full((80,), 2.0), torch.full((80,), 3.0))
    save_model_dir(tmp_path / "m", model, FeatureConfig(), CharTokenizer())
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors", "tokens.txt"]
    loaded, fcfg, tok, meta = load_model_dir(tmp_path / "m")
    x = torch.randn(1, 33, 80)
    torch.testing.assert_close(loaded(x, torch.tensor([33]))[0], model(x, torch.tensor([33]))[0])
    assert fcfg == FeatureConfig() and len(tok) == 29 and meta["model"]["hidden_size"] == 32


def test_output_does_not_depend_on_batch_mates_with_real_cmvn():
    model = _model(subsample=3)
    model.set_cmvn(torch.full((80,), -4.0), torch.full((80,), 2.0))  # raw zero padding != normalized zero
    (alone, _), (batched, _) = _alone_and_beside_a_longer_one(model)
    torch.testing.assert_close(batched[0, :14], alone[0], atol=1e-5, rtol=1e-5)


def test_cpu_path_by_direction_equals_packed_path_with_gradients():
    torch.manual_seed(0)
    for layers in (1, 3):
        model = CTCModel(ModelConfig(hidden_size=16, num_layers=layers, vocab_size=29, dropout=0.0))
        enc = model.encoder.train()
        x, lens = torch.randn(3, 21, 240), torch.tensor([21, 13, 5])
        outs, grads = [], []
        for run in (enc.forward_packed, enc.forward_by_direction):
            enc.zero_grad()
            y = run(x, lens)
            (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
            outs.append(y.detach())
            grads.append(torch.cat([p.grad.flatten() for p in enc.parameters()]))
        torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(grads[1], grads[0], atol=1e-5, rtol=1e-5)
        assert (outs[1][1, 13:] == 0).all() and (outs[1][2, 5:] == 0).all()


def test_cepstral_smoother_keeps_the_envelope_and_drops_the_harmonic_ripple():
    bins = torch.arange(80, dtype=torch.float32)
    envelope = torch.exp(-((bins - 25) / 12) ** 2) * 3 - bins / 40  # a formant on a tilt
    ripple = 0.5 * torch.cos(torch.pi * 64 * (bins + 0.5) / 80)  # 32 cycles over the axis: a pitch's harmonics
    smoother = cepstral_smoother(80, 20)
    torch.testing.assert_close(envelope @ cepstral_smoother(80, 80), envelope, atol=1e-5, rtol=0)
    assert (ripple @ smoother).abs().max() < 1e-5 and ((envelope @ smoother) - envelope).abs().max() < 0.02
    torch.testing.assert_close(smoother @ smoother, smoother, atol=1e-5, rtol=0)  # a projection


def test_lifter_model_loads_and_keeps_padding_out(tmp_path):
    model = _model(subsample=3, lifter=20, utterance_cmn=True)
    assert "smoother" not in model.state_dict()  # rebuilt from the config: old checkpoints still load
    save_model_dir(tmp_path / "m", model, FeatureConfig(), CharTokenizer())
    loaded = load_model_dir(tmp_path / "m")[0]
    x = torch.randn(1, 40, 80)
    torch.testing.assert_close(loaded(x, torch.tensor([40]))[0], model(x, torch.tensor([40]))[0])
    (alone, _), (batched, _) = _alone_and_beside_a_longer_one(loaded)
    torch.testing.assert_close(batched[0, :14], alone[0], atol=1e-5, rtol=1e-5)
