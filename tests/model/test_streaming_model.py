"""The LC-BLSTM streaming encoder: chunked offline forward == one chunk at a time == BiLSTM when unchunked."""

import pytest
import torch

from asr.model.ctc_model import CTCModel, running_mean_norm, utterance_mean_norm
from asr.model.encoder import ModelConfig
from asr.model.streaming import ModelStream


def _model(**kw) -> CTCModel:
    torch.manual_seed(0)
    cfg = ModelConfig(input_dim=20, hidden_size=16, num_layers=3, vocab_size=7, dropout=0.0, **kw)
    model = CTCModel(cfg).eval()
    model.set_cmvn(torch.randn(20) * 0.1, torch.rand(20) + 0.5)
    return model


@pytest.mark.parametrize("proj", [0, 8])
def test_one_chunk_covering_the_utterance_is_the_offline_bilstm(proj):
    offline = _model(proj_size=proj)
    chunked = _model(chunk_size=1000, proj_size=proj)
    chunked.load_state_dict(offline.state_dict())
    x, lens = torch.randn(3, 50, 20), torch.tensor([50, 31, 8])
    with torch.no_grad():
        a, la = offline(x, lens)
        b, lb = chunked(x, lens)
    assert torch.equal(la, lb)
    valid = torch.arange(a.shape[1])[None] < la[:, None]
    assert torch.allclose(a[valid], b[valid], atol=1e-6)


@pytest.mark.parametrize("chunk,right", [(4, 2), (3, 0), (2, 5)])
def test_batch_rows_do_not_see_each_other_or_their_padding(chunk, right):
    model = _model(chunk_size=chunk, right_context=right, running_cmn=10)
    x, lens = torch.randn(3, 61, 20), torch.tensor([61, 40, 5])
    with torch.no_grad():
        batch, out_lens = model(x, lens)
        for i in range(3):
            alone, _ = model(x[i:i + 1, : lens[i]], lens[i:i + 1])
            assert torch.allclose(batch[i, : out_lens[i]], alone[0], atol=1e-5)


def test_right_context_is_the_only_future_a_step_sees():
    model = _model(chunk_size=4, right_context=2)
    x = torch.randn(1, 60, 20)  # 20 encoder steps (subsample 3)
    y = x.clone()
    y[:, 3 * 14:] += 1.0  # change the audio from step 14 on
    with torch.no_grad():
        a, _ = model(x, torch.tensor([60]))
        b, _ = model(y, torch.tensor([60]))
    # Steps 0..7 (chunks 0, 1) see at most step 9; chunk 2 (steps 8..11) sees up to 13: all unchanged.
    assert torch.allclose(a[0, :12], b[0, :12], atol=1e-6)
    assert not torch.allclose(a[0, 12:], b[0, 12:], atol=1e-3)


@pytest.mark.parametrize("piece,proj", [(1, 0), (2, 0), (7, 0), (13, 0), (100, 0), (7, 8)])
def test_stream_in_pieces_gives_the_offline_log_probs(piece, proj):
    model = _model(chunk_size=4, right_context=3, running_cmn=20, proj_size=proj)
    feats = torch.randn(95, 20)
    with torch.no_grad():
        offline, _ = model(feats.unsqueeze(0), torch.tensor([95]))
    stream = ModelStream(model)
    outs = []
    for start in range(0, 95, piece):
        final, provisional = stream.accept(feats[start:start + piece])
        outs.append(final)
        assert provisional.shape[0] <= 3
    outs.append(stream.finish())
    streamed = torch.cat(outs)
    assert streamed.shape == offline[0].shape
    assert torch.allclose(streamed, offline[0], atol=1e-5)


def test_running_mean_norm_is_causal_and_resumable():
    x, lens = torch.randn(2, 30, 5), torch.tensor([30, 12])
    full = running_mean_norm(x, lens, prior=4)
    assert torch.allclose(full[0, :10], running_mean_norm(x[:1, :10], torch.tensor([10]), 4)[0])
    rest = running_mean_norm(x[:1, 10:], torch.tensor([20]), 4, past_sum=x[0, :10].sum(0, keepdim=True),
                             past_count=10)
    assert torch.allclose(full[0, 10:], rest[0], atol=1e-6)
    assert full[1, 12:].abs().sum() == 0
    # With a long prior it tends to nothing; with none, frame 0 is normalized to zero.
    assert torch.allclose(running_mean_norm(x, lens, prior=10**9), x * (torch.arange(30)[None, :, None] < 12)
                          .logical_or(torch.tensor([1, 0]).view(2, 1, 1).bool()), atol=1e-4)
    assert running_mean_norm(x, lens, prior=0)[:, 0].abs().max() < 1e-6
    assert utterance_mean_norm(x, lens).shape == x.shape


def test_streaming_configs_are_checked():
    with pytest.raises(ValueError, match="running_cmn"):
        ModelConfig(chunk_size=4, utterance_cmn=True)
    with pytest.raises(ValueError, match="chunk_size"):
        ModelConfig(right_context=3)
    with pytest.raises(ValueError, match="not a streaming model"):
        ModelStream(_model())
