"""Random frequency warping of log-mel features: a voice augmentation in the spirit of VTLP.

Different voices differ mostly by vocal-tract length, which scales formant frequencies. Stretching
each training utterance's mel axis by a random factor ``a`` in ``[1 - max_warp, 1 + max_warp]``
(Jaitly & Hinton, 2013) shows the model more "voices" than the corpus has, which is what lets it
generalize to voices it never heard.
"""

from __future__ import annotations

import torch


def random_freq_warp(feats: torch.Tensor, max_warp: float, generator: torch.Generator) -> torch.Tensor:
    """``feats (B, T, F)`` -> warped ``(B, T, F)``, each utterance by its own factor drawn uniformly from
    ``[1 - max_warp, 1 + max_warp]`` (:func:`warp_mel_axis`)."""
    if max_warp <= 0:
        return feats
    alpha = 1.0 + (2 * torch.rand(feats.shape[0], generator=generator) - 1) * max_warp  # (B,)
    return warp_mel_axis(feats, alpha)


def warp_mel_axis(feats: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``feats (B, T, F)`` -> warped ``(B, T, F)``: output bin ``j`` of utterance ``b`` reads input position
    ``j / alpha[b]``.

    ``alpha (B,)`` on the CPU. Linear interpolation between mel bins; positions past the top bin take the
    top bin. Padding frames are warped too, harmlessly (the model never reads them).
    """
    b, t, f = feats.shape
    pos = (torch.arange(f, dtype=torch.float32).unsqueeze(0) / alpha.unsqueeze(1)).clamp(max=f - 1)  # (B, F)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=f - 1)
    frac = (pos - lo).to(feats.device, feats.dtype).unsqueeze(1)  # (B, 1, F)
    lo, hi = lo.to(feats.device).unsqueeze(1), hi.to(feats.device).unsqueeze(1)
    low = torch.gather(feats, 2, lo.expand(b, t, f))
    high = torch.gather(feats, 2, hi.expand(b, t, f))
    return low + frac * (high - low)
