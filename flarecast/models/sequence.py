"""A GRU over windows of consecutive SHARP records of one region, and the windowing it needs.

:func:`make_windows` turns rows (one SHARP record each) into fixed-length
windows ``(n, L, F)`` ending at each row: the row itself in the last slot and
up to ``L - 1`` earlier records of the same region before it, left-padded with
zeros and flagged by a mask. A window never crosses regions and never holds a
record from the row's future (or from the row's own time stamp, when a region
has duplicate times), so it can be built on a test table without leakage.

:class:`EnsembleGRU` reads such windows with ``K`` independent GRUs (the
PyTorch GRU equations, written out so the member axis can be batched) and ends
in one logit per member, with the same prior-probability bias init as the MLP.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from flarecast.errors import DataError
from flarecast.models.ensemble import BatchedLinear, EnsembleNet, dropout, tanh

__all__ = ["make_windows", "EnsembleGRU"]


def _group_codes(groups: np.ndarray | pd.Series) -> np.ndarray:
    """Integer region codes; a row without a region (NA) is a region of its own."""
    codes, _ = pd.factorize(pd.Series(groups).reset_index(drop=True), use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(missing.sum())
    return codes


def _time_keys(times: np.ndarray | pd.Series) -> np.ndarray:
    t = pd.Series(times).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(t):
        if t.isna().any():
            raise DataError(
                f"make_windows: {int(t.isna().sum())} missing time(s); every record needs a time"
            )
        if t.dt.tz is not None:
            t = t.dt.tz_convert(None)  # UTC wall time; only the order matters here
        return t.to_numpy().astype("datetime64[ns]").astype(np.int64)
    arr = t.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(arr).all():
        raise DataError("make_windows: times must be datetimes or finite numbers")
    return arr


def make_windows(
    features: np.ndarray, groups: np.ndarray | pd.Series, times: np.ndarray | pd.Series, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of each row's region history, for the sequence model.

    Parameters
    ----------
    features : ndarray, shape (n, F)
        One row per SHARP record, any order (typically already standardised).
    groups : array-like, shape (n,)
        Region of each row (NOAA AR number); NA rows are regions of their own.
    times : array-like, shape (n,)
        Record times (datetimes, tz-aware or not, or numbers).
    length : int >= 1
        Window length ``L`` in records.

    Returns
    -------
    windows : ndarray of float32, shape (n, L, F)
        ``windows[i, -1]`` is row ``i``; ``windows[i, -1 - j]`` is the ``j``-th
        earlier record of the same region (strictly earlier time); missing
        slots are zeros. Rows keep the input order.
    mask : ndarray of bool, shape (n, L)
        True where a slot holds a record. ``mask[:, -1]`` is always True.
    """
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise DataError(f"make_windows: features must be 2-D (n, F); got shape {x.shape}")
    if int(length) < 1:
        raise DataError(f"make_windows: the window length must be >= 1 record; got {length!r}")
    n, length = len(x), int(length)
    code, t = _group_codes(groups), _time_keys(times)
    if len(code) != n or len(t) != n:
        raise DataError(f"make_windows: {n} feature rows but {len(code)} groups and {len(t)} times")
    order = np.lexsort((t, code))  # by region, then time (stable)
    cs, ts = code[order], t[order]
    # Start of each run of equal (region, time): lags count back from there, so
    # records sharing the row's own time stamp are never in its window.
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (cs[1:] != cs[:-1]) | (ts[1:] != ts[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
    windows = np.zeros((n, length, x.shape[1]), dtype=np.float32)
    mask = np.zeros((n, length), dtype=bool)
    windows[order, -1] = x[order]
    mask[order, -1] = True
    for lag in range(1, length):
        src = run_start - lag
        ok = src >= 0
        ok[ok] = cs[src[ok]] == cs[ok]
        rows = order[ok]
        windows[rows, -1 - lag] = x[order[src[ok]]]
        mask[rows, -1 - lag] = True
    return windows, mask


class EnsembleGRU(EnsembleNet):
    """``K`` independent single-layer GRUs over record windows, each ending in one logit.

    Parameters
    ----------
    n_features : int
        Features per record ``F``.
    hidden : sequence of int, default (32,)
        ``hidden[0]`` is the GRU state size; further entries are widths of an
        MLP head on the final state.
    dropout : float, default 0.0
        Dropout on the final state and after each head layer.
    activation : {"tanh", "relu", "silu"}, default ``NetworkConfig.activation`` ("relu")
        Activation of the head layers (the GRU's own gates use sigmoid and tanh).
    base_rate, n_members, seed
        As :class:`flarecast.models.mlp.EnsembleMLP`.

    Shapes
    ------
    ``forward(x, mask)``: ``x`` is ``(B, L, F)`` or ``(K, B, L, F)``, ``mask``
    ``(B, L)`` or ``(K, B, L)`` (left padding, as from :func:`make_windows`);
    returns logits ``(K, B)``. Padded steps leave the state unchanged, so a
    window of one record reads the same with any ``L``.
    """

    kind = "sequence"

    def _build_layers(self, gens: list[torch.Generator], base_rate: float):
        if not self.hidden:
            raise ValueError("EnsembleGRU needs at least one hidden size (the GRU state size)")
        h = self.hidden[0]
        # PyTorch's GRU init: every weight and bias uniform in +-1/sqrt(hidden).
        self.input_gates = BatchedLinear(gens, self.n_features, 3 * h, bound=h**-0.5)
        self.state_gates = BatchedLinear(gens, h, 3 * h, bound=h**-0.5)
        self.head_layers = self._hidden_layers(gens, self.hidden)
        self.head = self._output_layer(gens, self.hidden[-1], base_rate)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        k, size = self.input_gates.weight.shape[0], self.hidden[0]  # members held now
        lead = x.shape[:-2]  # (B,) or (K, B)
        gi = self.input_gates(
            x.reshape(*lead[:-1], -1, x.shape[-1])
        )  # all steps at once: (K, B*L, 3H)
        gi = gi.reshape(k, lead[-1], x.shape[-2], 3 * size)
        mask = mask.expand(k, *mask.shape[-2:]) if mask.dim() == 2 else mask
        state = x.new_zeros(k, lead[-1], size, dtype=gi.dtype)
        for step in range(x.shape[-2]):
            gh = self.state_gates(state)
            i_r, i_z, i_n = gi[:, :, step].chunk(3, dim=-1)
            h_r, h_z, h_n = gh.chunk(3, dim=-1)
            r = torch.sigmoid(i_r + h_r)
            z = torch.sigmoid(i_z + h_z)
            cand = tanh(i_n + r * h_n)
            new = (1 - z) * cand + z * state
            state = torch.where(mask[:, :, step, None], new, state)
        out = dropout(state, self.p_drop, self.training, generator)
        for layer in self.head_layers:
            out = dropout(self._act(layer(out)), self.p_drop, self.training, generator)
        return self.head(out).squeeze(-1)
