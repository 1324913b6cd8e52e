"""ONNX export of the acoustic model: onnxruntime gives PyTorch's log-probs (max abs diff <= 1e-4)
on real speech features, for a padded batch of unequal lengths too."""

import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from asr.data.audio import load_audio  # noqa: E402
from asr.data.datadir import read_datadir  # noqa: E402
from asr.features.logmel import compute_logmel  # noqa: E402
from asr.model.ctc_model import CTCModel  # noqa: E402
from asr.model.encoder import ModelConfig  # noqa: E402
from asr.model.onnx_model import OnnxCTCModel, export_onnx  # noqa: E402

TOLERANCE = 1e-4  # float32 LSTM kernels of two runtimes; observed ~1e-6


@pytest.mark.parametrize("subsample,utterance_cmn", [(3, False), (2, True)])
def test_onnx_matches_pytorch_on_a_padded_batch(tiny_corpus, tmp_path, subsample, utterance_cmn):
    torch.manual_seed(0)
    model = CTCModel(ModelConfig(hidden_size=48, num_layers=2, subsample=subsample, vocab_size=29,
                                 utterance_cmn=utterance_cmn))
    model.set_cmvn(torch.randn(80) * 2 - 5, torch.rand(80) + 0.5)
    model.eval()
    dd = read_datadir(tiny_corpus / "test")
    feats = [compute_logmel(load_audio(dd.audio_path(u))) for u in dd.utt_ids[:3]]
    feats[1] = feats[1][: 3 * (len(feats[1]) // 3)]  # one length that is a multiple of subsample, one that is not
    lens = torch.tensor([len(f) for f in feats])
    batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    path = export_onnx(model, tmp_path / "model.onnx")
    got, got_lens = OnnxCTCModel(path)(batch, lens)
    with torch.inference_mode():
        want, want_lens = model(batch, lens)
    assert got_lens.tolist() == want_lens.tolist()
    for i, n in enumerate(want_lens.tolist()):
        assert (got[i, :n] - want[i, :n]).abs().max() <= TOLERANCE
    # Each utterance alone (batch of 1, no padding) gives the same as in the batch.
    alone, _ = OnnxCTCModel(path)(feats[2][None], lens[2:])
    assert (alone[0] - got[2, : alone.shape[1]]).abs().max() <= TOLERANCE


def test_lstm_projection_is_refused_clearly(tmp_path):
    model = CTCModel(ModelConfig(hidden_size=32, num_layers=1, proj_size=16, vocab_size=29))
    with pytest.raises(ValueError, match="proj_size=16"):
        export_onnx(model, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()
