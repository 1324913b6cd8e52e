"""Learning-rate schedules: multipliers of the peak learning rate, as functions of the optimizer step.

    cosine  linear warm-up to 1, then cosine decay to ``final_ratio`` at the last step (the default)
    noam    linear warm-up to 1, then ``sqrt(warmup / step)`` (Vaswani et al.), floored at ``final_ratio``
    linear  linear warm-up to 1, then linear decay to ``final_ratio`` at the last step (one-cycle shape)
"""

from __future__ import annotations

import math
from collections.abc import Callable

SCHEDULES = ("cosine", "noam", "linear")


def lr_multiplier(kind: str, warmup: int, total: int, final_ratio: float) -> Callable[[int], float]:
    """``f(step) -> multiplier`` for ``torch.optim.lr_scheduler.LambdaLR``; ``step`` counts from 0."""
    if kind not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {kind!r}")

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if kind == "noam":
            return max(final_ratio, math.sqrt(max(1, warmup) / (step + 1)))
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        if kind == "linear":
            return 1.0 - (1.0 - final_ratio) * progress
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f
