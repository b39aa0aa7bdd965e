"""Training checkpoints: resume an interrupted :func:`flarecast.training.loop.train_ensemble` bit for bit.

After every epoch the training loop hands its whole state to
:meth:`Checkpoint.save`, which writes one file atomically (temporary file,
fsync, rename, through :func:`flarecast.io.atomic_path`), so a process killed
at any instant (SIGKILL included) leaves either the previous epoch's
checkpoint or this one, never a torn file. The state is everything the next
epoch reads:

- the network's parameters (only the members still training: the loop drops
  members that stopped) and the best-epoch snapshot of every member;
- the AdamW state of every parameter (step, first and second moments);
- the random generators: each member's batch-order generator and the
  dropout / input-noise generator (the loop draws from nothing else);
- the early-stopping state (best score, best epoch, epochs since the best,
  which members are active, which the network holds) and the history.

The file is a safetensors file: tensors for all of the above, and the few
scalars (epoch, fingerprint, versions) as JSON in its metadata. Nothing is
pickled, so a checkpoint planted by someone else cannot run code; ``torch.save``
of an optimiser state would be a pickle. Every tensor keeps its dtype, so a
run resumed on the CPU continues with exactly the numbers it stopped with and
ends with the same weights, bit for bit, as a run that was never interrupted.

A checkpoint carries a fingerprint of the training configuration (device and
thread count excepted), the architecture and the training and validation
data; resuming with anything else raises :class:`~flarecast.errors.ConfigError`
instead of silently mixing two runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from flarecast import __version__
from flarecast.errors import ConfigError, ModelFileError
from flarecast.io import atomic_path, safetensors_json

__all__ = ["Checkpoint", "ResumeState", "FORMAT"]

FORMAT = "flarecast-checkpoint/1"
_META_KEY = (
    "flarecast_checkpoint"  # the only metadata key: safetensors orders metadata keys arbitrarily
)
_LOOP_KEYS = ("best_score", "best_epoch", "since_best", "active", "members")


@dataclasses.dataclass
class ResumeState:
    """What :meth:`Checkpoint.start` read back, besides the network parameters it already restored.

    ``epoch`` is the last finished epoch (training continues with ``epoch + 1``);
    ``loop`` holds the early-stopping arrays (best_score, best_epoch, since_best,
    active, members), ``history`` the per-epoch rows so far.
    """

    epoch: int
    loop: dict[str, np.ndarray]
    history: dict[str, list[np.ndarray]]
    _tensors: dict[str, torch.Tensor]

    def restore(
        self,
        opt: torch.optim.Optimizer,
        net: nn.Module,
        order_gens: Sequence[torch.Generator],
        drop_gen: torch.Generator,
        best: Any,
    ) -> None:
        """Put the optimiser state, the generators and the best-weights snapshot back."""
        t = self._tensors
        names = _optimizer_names(opt, net)
        state = opt.state_dict()
        state["state"] = {}
        for i, name in enumerate(names):
            prefix = f"optim/{name}/"
            entry = {
                key[len(prefix) :]: value for key, value in t.items() if key.startswith(prefix)
            }
            if entry:
                state["state"][i] = entry
        opt.load_state_dict(state)  # casts to each parameter's device, keeps float32 values exact
        for m, gen in enumerate(order_gens):
            gen.set_state(t[f"rng/order/{m}"])
        drop_gen.set_state(t["rng/dropout"])
        best.load_state_dict(
            {key[len("best/") :]: value for key, value in t.items() if key.startswith("best/")}
        )


def _optimizer_names(opt: torch.optim.Optimizer, net: nn.Module) -> list[str]:
    """Parameter names in the optimiser's own order (the integer keys of its state_dict)."""
    by_id = {id(p): name for name, p in net.named_parameters()}
    return [by_id[id(p)] for group in opt.param_groups for p in group["params"]]


def _fingerprint(net: nn.Module, config: Any, data: Sequence[torch.Tensor]) -> str:
    h = hashlib.sha256()
    settings = {
        k: v for k, v in dataclasses.asdict(config).items() if k not in ("device", "cpu_threads")
    }
    arch = net.architecture() if hasattr(net, "architecture") else type(net).__name__
    h.update(
        json.dumps({"config": settings, "architecture": arch}, sort_keys=True, default=str).encode()
    )
    for tensor in data:
        arr = tensor.detach().cpu().contiguous().numpy()
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


class Checkpoint:
    """One training run's checkpoint file.

    Parameters
    ----------
    path : path
        The checkpoint file, e.g. ``MODEL/.checkpoint/train.safetensors``;
        its folder is created when the first epoch is saved.
    resume : bool, default False
        Continue from ``path`` if it exists (it must come from the same
        configuration and data). Without it an existing file is overwritten
        by the first epoch.

    Attributes
    ----------
    resumed_epoch : int
        The epoch training continued after (0 when it started afresh); set by :meth:`start`.
    """

    def __init__(self, path: str | Path, resume: bool = False):
        self.path = Path(path)
        self.resume = bool(resume)
        self.resumed_epoch = 0
        self._fingerprint: str | None = None

    def peek(self) -> dict[str, Any] | None:
        """The JSON part of an existing checkpoint (epoch, versions, time), unchecked; None if there is none."""
        if not self.path.is_file():
            return None
        return self._read()[0]

    def start_note(self) -> str | None:
        """What a run will do with the checkpoint it finds (or does not), for the command to print."""
        found = self.peek()
        if found is not None:
            if self.resume:
                return f"resuming after epoch {found['epoch']} from {self.path}"
            return (
                f"{self.path} holds an interrupted run (epoch {found['epoch']}); starting afresh, "
                "use --resume to continue it"
            )
        if self.resume:
            return f"--resume: no checkpoint in {self.path.parent}; starting afresh"
        return None

    def _read(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        from safetensors import SafetensorError
        from safetensors.torch import load

        blob = self.path.read_bytes()
        try:
            tensors = load(blob)
            meta = safetensors_json(blob, _META_KEY)
        except (SafetensorError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ModelFileError(
                f"{self.path} is not a flarecast training checkpoint: {exc}"
            ) from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(f"{self.path} is not a {FORMAT} checkpoint")
        return meta, tensors

    def start(
        self, net: nn.Module, config: Any, data: Sequence[torch.Tensor]
    ) -> ResumeState | None:
        """Fingerprint the run; when resuming from a matching file, load its parameters into ``net``.

        Called by the training loop before it builds the optimiser.

        Parameters
        ----------
        net : torch.nn.Module
            The freshly built ensemble; its parameters are replaced by the
            checkpoint's (which may hold fewer members).
        config : TrainConfig
        data : sequence of torch.Tensor
            Training and validation inputs and targets.

        Returns
        -------
        ResumeState or None
            None when starting afresh.

        Raises
        ------
        ConfigError
            If the checkpoint comes from another configuration or other data.
        ModelFileError
            If the file is not a readable checkpoint.
        """
        from flarecast.models.ensemble import replace_parameters

        self._fingerprint = _fingerprint(net, config, data)
        if not (self.resume and self.path.is_file()):
            return None
        meta, tensors = self._read()
        if meta.get("fingerprint") != self._fingerprint:
            raise ConfigError(
                f"{self.path} was written by a different training run (other settings or data), so "
                "it cannot be resumed: train without --resume to start afresh"
            )
        saved = {
            key[len("net/") :]: value for key, value in tensors.items() if key.startswith("net/")
        }
        if set(saved) != {name for name, _ in net.named_parameters()}:
            raise ModelFileError(
                f"{self.path}: its parameters {sorted(saved)} do not fit the network"
            )
        device = next(net.parameters()).device
        replace_parameters(net, lambda name, p: saved[name].to(device))
        loop = {key: tensors[f"loop/{key}"].numpy().copy() for key in _LOOP_KEYS}
        history = {
            key[len("history/") :]: list(value.numpy().copy())
            for key, value in tensors.items()
            if key.startswith("history/")
        }
        self.resumed_epoch = int(meta["epoch"])
        return ResumeState(self.resumed_epoch, loop, history, tensors)

    def save(
        self,
        epoch: int,
        *,
        net: nn.Module,
        opt: torch.optim.Optimizer,
        order_gens: Sequence[torch.Generator],
        drop_gen: torch.Generator,
        best: Any,
        loop: dict[str, np.ndarray],
        history: dict[str, list[np.ndarray]],
    ) -> None:
        """Write the state after ``epoch`` atomically (replacing the previous epoch's file)."""
        from safetensors.torch import save

        if self._fingerprint is None:
            raise RuntimeError("Checkpoint.save called before Checkpoint.start")

        def cpu(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to("cpu").contiguous().clone()

        tensors = {f"net/{name}": cpu(p) for name, p in net.named_parameters()}
        names = _optimizer_names(opt, net)
        for i, entry in opt.state_dict()["state"].items():
            for key, value in entry.items():
                tensors[f"optim/{names[i]}/{key}"] = cpu(
                    value if torch.is_tensor(value) else torch.tensor(value)
                )
        tensors |= {f"best/{name}": cpu(t) for name, t in best.state_dict().items()}
        tensors |= {f"rng/order/{m}": cpu(g.get_state()) for m, g in enumerate(order_gens)}
        tensors["rng/dropout"] = cpu(drop_gen.get_state())
        tensors |= {
            f"loop/{key}": torch.from_numpy(np.ascontiguousarray(loop[key])) for key in _LOOP_KEYS
        }
        tensors |= {
            f"history/{key}": torch.from_numpy(np.stack(rows))
            for key, rows in history.items()
            if rows
        }
        meta = {
            "format": FORMAT,
            "epoch": int(epoch),
            "fingerprint": self._fingerprint,
            "flarecast_version": __version__,
            "torch_version": torch.__version__,
            "saved": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        blob = save(tensors, metadata={_META_KEY: json.dumps(meta)})
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(blob)
        except FileNotFoundError:
            # Another run into the same --out put its finished model folder in place of this
            # one's between the temporary file and the rename; write into the new folder.
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(blob)

    def remove(self) -> None:
        """Delete the checkpoint and anything a killed writer left beside it (after the model is saved)."""
        self.path.unlink(missing_ok=True)
        folder = self.path.parent
        if folder.is_dir():
            for leftover in folder.glob(f".{self.path.name}.*.tmp"):
                leftover.unlink(missing_ok=True)
            if not any(folder.iterdir()):
                folder.rmdir()
