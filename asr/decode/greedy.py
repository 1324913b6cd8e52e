"""Greedy (best-path) CTC decoding."""

from __future__ import annotations

import torch


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """Best path of ``log_probs (B, T, V)``: argmax per frame, merge repeats, drop blanks.

    The argmax and the repeat mask run batched on the tensor's device; only the ids move to the CPU.
    """
    best = log_probs.argmax(dim=-1)  # (B, T)
    keep = torch.ones_like(best, dtype=torch.bool)
    keep[:, 1:] = best[:, 1:] != best[:, :-1]
    keep &= best != blank
    best, keep = best.cpu(), keep.cpu()
    out = []
    for b, n in enumerate(lengths.tolist()):
        out.append(best[b, :n][keep[b, :n]].tolist())
    return out
