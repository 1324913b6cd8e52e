"""Which torch device a run uses: the one place that reads ``--device auto``."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """``auto`` -> ``cuda`` if there is a GPU, else ``cpu``; anything else as given.

    ``local_rank`` (a torchrun process) pins an unindexed ``cuda`` to that process's GPU, ``cuda:LOCAL_RANK``.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None and local_rank is not None:
        device = torch.device("cuda", local_rank)
    return device
