"""Where and with how many threads torch runs: device names and the CPU thread count."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from flarecast.errors import ConfigError

__all__ = ["resolve_device", "torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int | None, device: torch.device) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads on the CPU, then restore the previous count."""
    if n is None or device.type != "cpu" or n == torch.get_num_threads():
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for ``name``: "auto" picks CUDA, then Apple MPS, then the CPU.

    Raises
    ------
    ConfigError
        If an explicitly requested accelerator is not available.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(
            f"Unknown device {name!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"Device {name!r} was requested but this torch ({torch.__version__}) sees no CUDA GPU; "
            "use --device cpu or auto."
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            f"Device {name!r} was requested but MPS is not available; use 'cpu' or 'auto'."
        )
    if device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(
            f"Unsupported device {name!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        )
    return device
