"""Mixed precision: which autocast dtype to train in, and the fp16 gradient scaler.

``amp=auto`` picks bf16 on GPUs that support it (Ampere and later: same exponent range as fp32,
so no loss scaling), fp16 with a ``GradScaler`` on older GPUs, and fp32 on the CPU, where autocast
would only add casts around the LSTM. The CTC loss and the log-softmax stay in fp32 either way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass
class Precision:
    device_type: str
    dtype: torch.dtype | None  # autocast dtype; None: plain fp32
    scaler: torch.amp.GradScaler | None  # fp16 only

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


def resolve_precision(amp: str, device: torch.device) -> Precision:
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
    if amp == "auto":
        if device.type != "cuda":
            amp = "off"
        else:
            amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "off":
        return Precision(device.type, None, None)
    if amp == "bf16":
        return Precision(device.type, torch.bfloat16, None)
    if device.type != "cuda":
        raise ValueError("amp=fp16 needs a CUDA device (use bf16 or off on the CPU)")
    return Precision(device.type, torch.float16, torch.amp.GradScaler("cuda"))
