"""Data-parallel training across processes started by ``torchrun`` (one process per GPU, any number of nodes).

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; without them
training runs as a single process and nothing here communicates. GPUs talk over NCCL, CPU processes
over gloo. Every rank computes the same batch plan (asr.train.batching), so the collectives used are:
DDP's gradient all-reduce, one small all-reduce per step (loss sum and a non-finite flag, so that all
ranks skip the same steps), and a few per epoch (dev statistics, RNG states for checkpoints).

    torchrun --nproc-per-node 4 -m asr.cli train --config conf.yaml ...           # one node, 4 GPUs
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 -m asr.cli train ...
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from asr.device import resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str = "auto") -> tuple[DistContext, torch.device]:
    """Join the process group when launched by torchrun; return this process's rank info and device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ctx = DistContext(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    device = resolve_device(device_name, local_rank=ctx.local_rank)  # auto: cuda:LOCAL_RANK if there are GPUs
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if ctx.enabled and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        # The other ranks wait in a collective while rank 0 writes checkpoints, the model and plots.
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30),
                                device_id=device if device.type == "cuda" else None)
        log.info("rank %d of %d (%s) on %s", ctx.rank, ctx.world_size, backend, device)
    return ctx, device


def cleanup(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def all_reduce(tensor: torch.Tensor, ctx: DistContext, op: str = "sum") -> torch.Tensor:
    """In-place sum/max over ranks (no-op for one process); returns ``tensor``."""
    if ctx.enabled:
        dist.all_reduce(tensor, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
    return tensor


def all_gather_object(obj, ctx: DistContext) -> list:
    if not ctx.enabled:
        return [obj]
    out: list = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, ctx: DistContext, src: int = 0):
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def wrap_model(model: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around ``model`` when there are several ranks (it broadcasts rank 0's weights)."""
    if not ctx.enabled:
        return model
    # broadcast_buffers off: the only buffers are the CMVN statistics, which never change.
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
