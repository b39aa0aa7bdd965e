"""Data-parallel training under ``torchrun``: PyTorch DDP for :func:`flarecast.training.loop.train_ensemble`.

Run the ordinary command under torchrun, one process per device::

    torchrun --nproc_per_node=2 --no-python flarecast train --dataset umich-24h --out models/m

``torchrun`` starts the processes and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_from_env`
reads them and joins the process group: NCCL when training on CUDA (rank
``r`` on GPU ``LOCAL_RANK``), gloo on the CPU. From then on the training loop
does, in every process:

* the same thing as alone for everything that is cheap and must agree: the
  same seeds, so the same initial weights and the same per-member batch
  order (``DistributedDataParallel`` also broadcasts rank 0's weights);
* on every batch ``(K, B)`` of row indices, only its own columns
  (:meth:`DDPContext.shard`), i.e. ``B / WORLD_SIZE`` rows per member;
* the backward pass through :class:`torch.nn.parallel.DistributedDataParallel`,
  which all-reduces (averages) the gradients. Each rank's loss is weighted by
  its share of the batch, so the averaged gradient is exactly the gradient of
  the whole batch's mean loss, as in a single process (up to the order of
  floating-point sums);
* validation on its share of the validation rows, gathered on every rank
  (:meth:`DDPContext.gather_rows`), so all ranks take the same early-stopping
  decisions from the same numbers.

Every rank ends with the same weights; only rank 0 (:attr:`DDPContext.is_main`)
writes the model and prints. The vectorised ensemble is unchanged: the member
axis is never split, only the rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn

from flarecast.errors import ConfigError

__all__ = ["DDPContext", "init_from_env", "active", "shutdown"]

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclasses.dataclass(frozen=True)
class DDPContext:
    """This process's place in a data-parallel run.

    Attributes
    ----------
    rank : int
        0 .. world_size - 1; rank 0 writes and prints.
    world_size : int
        Number of processes.
    local_rank : int
        Index of this process on its node (its GPU with NCCL).
    device : torch.device
        Where this rank trains: ``cuda:local_rank`` with NCCL, the CPU with gloo.
    backend : {"nccl", "gloo"}
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes the model and the logs."""
        return self.rank == 0

    def wrap(self, net: nn.Module) -> nn.Module:
        """``net`` (already on :attr:`device`) in :class:`~torch.nn.parallel.DistributedDataParallel`."""
        first = next(net.parameters())
        if self.backend == "nccl" and first.device.type != "cuda":
            raise ConfigError(
                f"The model is on {first.device} but this torchrun process group uses NCCL, which "
                "needs CUDA tensors; train with --device cuda (or auto), or on the CPU with gloo."
            )
        ids = [first.device.index] if first.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(net, device_ids=ids)

    def shard(self, idx: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's columns of a batch of row indices, and the weight of its loss.

        Parameters
        ----------
        idx : torch.Tensor, shape (K, B)
            The batch: row indices per member, the same on every rank.

        Returns
        -------
        local : torch.Tensor, shape (K, B_r)
            Columns ``rank`` of ``torch.tensor_split(idx, world_size, dim=1)``.
        weight : float
            ``world_size * B_r / B``: multiplying this rank's mean loss by it makes
            DDP's gradient average equal the gradient of the whole batch's mean.
        """
        size = idx.shape[1]
        if size < self.world_size:
            raise ConfigError(
                f"A training batch has {size} rows per member, fewer than the {self.world_size} "
                "torchrun processes; use a larger batch_size or fewer processes."
            )
        local = torch.tensor_split(idx, self.world_size, dim=1)[self.rank]
        return local, self.world_size * local.shape[1] / size

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum of ``tensor`` over the ranks (a new tensor; every rank gets the same values)."""
        out = tensor.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def gather_rows(self, net: nn.Module, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """``net(*inputs)`` (K, n) with each rank computing a share of the n rows, gathered on all ranks."""
        n = inputs[0].shape[0]
        shares = torch.tensor_split(torch.arange(n, device=inputs[0].device), self.world_size)
        mine = net(*(t[shares[self.rank]] for t in inputs))  # (K, n_r)
        # all_gather needs equal shapes: pad to the largest share, cut back after.
        width = max(len(s) for s in shares)
        padded = mine.new_zeros(mine.shape[0], width)
        padded[:, : mine.shape[1]] = mine
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([p[:, : len(s)] for p, s in zip(parts, shares, strict=True)], dim=1)


def _env_int(name: str) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"The torchrun environment variable {name} must be an integer. Got {value!r}."
        ) from None


def init_from_env(device: str = "auto", *, timeout_s: float = 600.0) -> DDPContext | None:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    Parameters
    ----------
    device : str, default "auto"
        The training device asked for ("auto", "cpu", "cuda", "cuda:N"). CUDA
        (when asked for, or "auto" with a GPU present) gives NCCL with rank
        ``r`` on ``cuda:LOCAL_RANK``; the CPU gives gloo.
    timeout_s : float, default 600
        How long collectives wait for a missing rank before failing.

    Returns
    -------
    DDPContext or None
        None when not started by torchrun (no ``WORLD_SIZE`` in the
        environment): train in this process alone, as usual.

    Raises
    ------
    ConfigError
        Incomplete or malformed torchrun variables, or a device DDP cannot use (MPS).
    """
    if "WORLD_SIZE" not in os.environ:
        return None
    missing = [v for v in _ENV if v not in os.environ]
    if missing:
        raise ConfigError(
            f"WORLD_SIZE is set but {missing} are not: start data-parallel training with "
            "torchrun, e.g. torchrun --nproc_per_node=2 --no-python flarecast train ..."
        )
    rank, world, local = _env_int("RANK"), _env_int("WORLD_SIZE"), _env_int("LOCAL_RANK")
    if not (world >= 1 and 0 <= rank < world and local >= 0):
        raise ConfigError(
            f"Inconsistent torchrun variables: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}."
        )
    name = str(device)
    if name.startswith("mps"):
        raise ConfigError(
            "Data-parallel training (torchrun) supports CUDA (NCCL) and the CPU (gloo), not MPS."
        )
    use_cuda = name.startswith("cuda") or (name == "auto" and torch.cuda.is_available())
    if use_cuda:
        if not torch.cuda.is_available():
            raise ConfigError(
                f"Device {name!r} was requested under torchrun but torch sees no CUDA GPU."
            )
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK {local} has no GPU: this node has {torch.cuda.device_count()}; "
                "use --nproc_per_node <= the number of GPUs."
            )
        torch.cuda.set_device(local)  # so "cuda" means this rank's GPU everywhere below
        target, backend = torch.device("cuda", local), "nccl"
    else:
        target, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend,
            init_method="env://",
            timeout=dt.timedelta(seconds=timeout_s),
            device_id=target if backend == "nccl" else None,
        )
    return DDPContext(rank=rank, world_size=world, local_rank=local, device=target, backend=backend)


def active() -> DDPContext | None:
    """The context of an initialised process group (after :func:`init_from_env`), else None.

    :func:`flarecast.training.loop.train_ensemble` calls this, which is how a training
    run under torchrun becomes data-parallel without any change to its callers.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return None
    backend = str(dist.get_backend()).lower()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if backend == "nccl"
        else torch.device("cpu")
    )
    return DDPContext(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=local,
        device=device,
        backend=backend,
    )


def shutdown() -> None:
    """Leave the process group (no-op when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
