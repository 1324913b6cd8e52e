"""Dev-set evaluation during training: CTC loss, greedy WER and CER, sharded over ranks.

Error counts come from an edit distance computed here (rapidfuzz's when it is installed, as jiwer
installs it) so that training needs neither jiwer nor anything else beyond torch; the numbers equal
``jiwer.wer`` / ``jiwer.cer`` on the same strings (total edits over total reference words / characters).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from asr.decode.greedy import greedy_decode
from asr.train.distributed import DistContext, all_reduce

try:  # C implementation, ~100x faster than the Python loop below
    from rapidfuzz.distance import Levenshtein as _Levenshtein
except ImportError:  # pragma: no cover - depends on the environment
    _Levenshtein = None


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (substitutions, deletions, insertions all cost 1) between two sequences."""
    if _Levenshtein is not None:
        return _Levenshtein.distance(ref, hyp)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def error_counts(refs: list[str], hyps: list[str]) -> tuple[int, int, int, int]:
    """``(word edits, reference words, character edits, reference characters)`` summed over pairs."""
    we = nw = ce = nc = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r, h = ref.split(), hyp.split()
        we += edit_distance(r, h)
        nw += len(r)
        r, h = " ".join(r), " ".join(h)
        ce += edit_distance(r, h)
        nc += len(r)
    return we, nw, ce, nc


def ctc_loss_sum(log_probs: torch.Tensor, out_lens: torch.Tensor, targets: torch.Tensor,
                 target_lens: torch.Tensor) -> torch.Tensor:
    """Summed CTC loss of a batch: ``log_probs (B, T, V)``, ``out_lens (B,)``, concatenated ``targets``.

    Computed in fp32 whatever the autocast dtype. ``zero_infinity``: an utterance that cannot be aligned
    contributes 0 instead of inf (the trainer drops those up front; this keeps a stray one harmless).
    """
    return torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1).float(), targets, out_lens, target_lens,
        blank=0, reduction="sum", zero_infinity=True)


@torch.inference_mode()
def evaluate(model: torch.nn.Module, loader, tokenizer, device: torch.device, max_utts: int = 0,
             autocast=None, ctx: DistContext | None = None) -> tuple[float, float, float]:
    """``(mean loss per utterance, greedy WER, greedy CER)`` of ``model`` on ``loader``.

    With several ranks each evaluates its part of the batches and the sums are all-reduced; ``max_utts``
    caps the utterances over all ranks (0: all). ``autocast`` is a context factory (mixed precision).
    """
    ctx = ctx or DistContext()
    was_training = model.training
    model.eval()
    per_rank_cap = -(-max_utts // ctx.world_size) if max_utts else 0
    loss_sum, n, refs, hyps = 0.0, 0, [], []
    for batch in loader:
        feats = batch["feats"].to(device, non_blocking=True)
        targets = batch["targets"].to(device, non_blocking=True)
        if autocast is not None:
            with autocast():
                log_probs, out_lens = model(feats, batch["feat_lens"])
        else:
            log_probs, out_lens = model(feats, batch["feat_lens"])
        out_lens = out_lens.cpu()
        loss_sum += float(ctc_loss_sum(log_probs, out_lens, targets, batch["target_lens"]))
        n += feats.shape[0]
        starts = torch.cumsum(batch["target_lens"], 0) - batch["target_lens"]
        for ids, start, length in zip(greedy_decode(log_probs, out_lens), starts.tolist(),
                                      batch["target_lens"].tolist(), strict=True):
            hyps.append(tokenizer.decode(ids))
            refs.append(tokenizer.decode(batch["targets"][start:start + length].tolist()))
        if per_rank_cap and n >= per_rank_cap:
            break
    model.train(was_training)
    we, nw, ce, nc = error_counts(refs, hyps)
    sums = all_reduce(torch.tensor([loss_sum, n, we, nw, ce, nc], dtype=torch.float64, device=device), ctx)
    loss_sum, n, we, nw, ce, nc = sums.tolist()
    return loss_sum / max(n, 1), we / max(nw, 1), ce / max(nc, 1)
