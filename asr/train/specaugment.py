"""SpecAugment (Park et al., 2019) on a padded batch: time warp, frequency masks, time masks.

Applied by the trainer to ``feats (B, T, F)`` on the training device, before the model's CMVN, so
masked cells are filled with the CMVN mean (0 after normalization) rather than a raw log-mel 0,
which would be a loud constant. Every random number comes from the ``torch.Generator`` passed in,
which the trainer reseeds per step: runs are reproducible and resume exactly without saving its state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass
class SpecAugmentConfig:
    """Per-utterance masks; all counts 0 (the default) turns SpecAugment off."""

    freq_masks: int = 0  # frequency masks per utterance
    freq_width: int = 27  # each masks up to this many mel bins
    time_masks: int = 0  # time masks per utterance
    time_width: int = 40  # each masks up to this many frames...
    time_width_ratio: float = 0.05  # ...and up to this fraction of the utterance
    time_warp: int = 0  # warp the time axis by up to this many frames (0: off)

    @property
    def enabled(self) -> bool:
        return self.freq_masks > 0 or self.time_masks > 0 or self.time_warp > 0


def time_warp(feats: torch.Tensor, lengths: torch.Tensor, max_warp: int, generator: torch.Generator) -> torch.Tensor:
    """Move a random point ``c`` of each utterance to ``c + w``, ``|w| <= max_warp``, stretching both sides.

    ``feats (B, T, F)``, ``lengths (B,)`` (CPU) -> new ``(B, T, F)``; frames past a length are kept as they are.
    Utterances shorter than ``2 * max_warp + 2`` frames are left alone.
    """
    out = feats.clone()
    lens = lengths.tolist()
    r = torch.rand(len(lens), 2, generator=generator).tolist()
    for b, n in enumerate(lens):
        if n < 2 * max_warp + 2:
            continue
        c = max_warp + 1 + int(r[b][0] * (n - 2 * max_warp - 1))  # in [W + 1, n - W - 1]
        w = int(round((2 * r[b][1] - 1) * max_warp))
        x = feats[b, :n].t().unsqueeze(0)  # (1, F, n)
        left = F.interpolate(x[..., :c], size=c + w, mode="linear", align_corners=True)
        right = F.interpolate(x[..., c:], size=n - c - w, mode="linear", align_corners=True)
        out[b, :n] = torch.cat([left, right], dim=-1)[0].t()
    return out


def _span_mask(starts: torch.Tensor, widths: torch.Tensor, size: int) -> torch.Tensor:
    """``starts, widths (B, K)`` -> ``(B, size)`` bool, true inside any of the K spans."""
    pos = torch.arange(size, device=starts.device)
    inside = (pos >= starts.unsqueeze(-1)) & (pos < (starts + widths).unsqueeze(-1))  # (B, K, size)
    return inside.any(dim=1)


def spec_augment(feats: torch.Tensor, lengths: torch.Tensor, cfg: SpecAugmentConfig, generator: torch.Generator,
                 fill: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Augmented copy of ``feats (B, T, F)``; ``lengths (B,)`` on the CPU; ``fill`` scalar or ``(F,)``.

    Time masks lie inside each utterance's own length. The random draws are small ``(B, K)`` tensors made
    on the CPU with ``generator`` (so a GPU run draws the same numbers); the masks are built on ``feats``' device.
    """
    if not cfg.enabled:
        return feats
    b, t, nf = feats.shape
    lengths = lengths.cpu()
    if cfg.time_warp > 0:
        feats = time_warp(feats, lengths, cfg.time_warp, generator)
    mask = torch.zeros(b, t, nf, dtype=torch.bool, device=feats.device)
    if cfg.freq_masks > 0:
        k = cfg.freq_masks
        widths = (torch.rand(b, k, generator=generator) * (min(cfg.freq_width, nf) + 1)).long()
        starts = (torch.rand(b, k, generator=generator) * (nf - widths + 1)).long()
        mask |= _span_mask(starts.to(feats.device), widths.to(feats.device), nf).unsqueeze(1)
    if cfg.time_masks > 0:
        k = cfg.time_masks
        max_w = torch.minimum(torch.full_like(lengths, cfg.time_width),
                              (lengths.double() * cfg.time_width_ratio).long())  # (B,)
        widths = (torch.rand(b, k, generator=generator) * (max_w + 1).unsqueeze(1)).long()
        starts = (torch.rand(b, k, generator=generator) * (lengths.unsqueeze(1) - widths + 1)).long()
        mask |= _span_mask(starts.to(feats.device), widths.to(feats.device), t).unsqueeze(2)
    fill = torch.as_tensor(fill, dtype=feats.dtype, device=feats.device)
    return torch.where(mask, fill, feats)
