"""Finished fits of an evaluation run, kept on disk so an interrupted ``flarecast reproduce`` resumes.

A comparison run fits every method on every fold (:func:`flarecast.evaluation.protocol.run_protocol`),
which takes minutes to hours. :class:`FoldStore` writes each finished
(fold, method) result, a :class:`~flarecast.evaluation.protocol.FoldFit` plus optional
tables computed from the fitted model (permutation importance), to its own
file as soon as it exists, atomically, so a run killed at any instant keeps
every fit it finished. ``flarecast reproduce --resume`` reads them back and
fits only the rest; since every fit is seeded by its fold and the folds by
the protocol, the resumed run's outputs equal an uninterrupted run's.

One file per fit, ``OUT/.partial/fold{K}-{method}.safetensors``: the arrays
as float64 tensors (exact), the scalars and tables as JSON in the metadata.
No pickle. Every file carries the fingerprint of the run (protocol, data
checksum, features, target); resuming a different run is an error rather
than a silent mix.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.errors import ConfigError, ModelFileError
from flarecast.evaluation.protocol import FoldFit
from flarecast.io import atomic_path, safetensors_json

__all__ = ["FoldStore", "run_fingerprint"]

FORMAT = "flarecast-fold-fit/1"
_KEY = "flarecast_fold_fit"  # one metadata key: safetensors orders several arbitrarily
_ARRAYS = ("p_test", "p_val", "members_test", "member_thresholds")
_FILE = re.compile(r"^fold(\d+)-(.+)\.safetensors$")


def run_fingerprint(settings: Mapping[str, Any]) -> str:
    """sha256 of the JSON of ``settings`` (protocol, data checksum, ...): what makes two runs the same."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


class FoldStore:
    """The finished (fold, method) fits of one run, in ``folder``.

    Parameters
    ----------
    folder : path
        E.g. ``OUT/.partial``; created on the first save.
    fingerprint : str
        From :func:`run_fingerprint`; stored with every fit and checked on load.
    """

    def __init__(self, folder: str | Path, fingerprint: str):
        self.folder = Path(folder)
        self.fingerprint = fingerprint

    def _path(self, fold: int, method: str) -> Path:
        return self.folder / f"fold{int(fold)}-{method}.safetensors"

    def count(self) -> int:
        """Number of stored fits (of any run)."""
        return (
            sum(1 for p in self.folder.glob("*.safetensors") if _FILE.match(p.name))
            if self.folder.is_dir()
            else 0
        )

    def save(
        self, fold: int, method: str, fit: FoldFit, tables: Mapping[str, pd.DataFrame] | None = None
    ) -> None:
        """Keep one finished fit (and tables derived from its model), atomically."""
        from safetensors.numpy import save

        arrays = {
            name: np.ascontiguousarray(getattr(fit, name), dtype=np.float64) for name in _ARRAYS
        }
        meta = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "fold": int(fold),
            "method": method,
            "threshold": float(fit.threshold),
            "climatology": float(fit.climatology),
            "seconds": float(fit.seconds),
            "best_epoch": fit.best_epoch,
            "tables": {
                name: {"columns": list(t.columns), "data": t.to_dict(orient="list")}
                for name, t in (tables or {}).items()
            },
        }
        blob = save(arrays, metadata={_KEY: json.dumps(meta)})
        with atomic_path(self._path(fold, method)) as tmp:
            tmp.write_bytes(blob)

    def load(self) -> dict[tuple[int, str], tuple[FoldFit, dict[str, pd.DataFrame]]]:
        """Every stored fit as ``{(fold, method): (FoldFit, tables)}``.

        Raises
        ------
        ConfigError
            If a stored fit belongs to another run (other protocol or data).
        ModelFileError
            If a file is not a readable fold fit.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load

        out = {}
        for path in sorted(self.folder.glob("*.safetensors")) if self.folder.is_dir() else []:
            if not _FILE.match(path.name):
                continue
            blob = path.read_bytes()
            try:
                arrays = load(blob)
                meta = safetensors_json(blob, _KEY)
                if meta.get("format") != FORMAT:
                    raise ValueError(f"format {meta.get('format')!r}")
                fit = FoldFit(
                    **{name: arrays[name] for name in _ARRAYS},
                    threshold=float(meta["threshold"]),
                    climatology=float(meta["climatology"]),
                    seconds=float(meta["seconds"]),
                    best_epoch=meta["best_epoch"],
                )
                tables = {
                    name: pd.DataFrame(t["data"], columns=t["columns"])
                    for name, t in meta["tables"].items()
                }
            except (SafetensorError, ValueError, KeyError, TypeError, RecursionError) as exc:
                raise ModelFileError(
                    f"{path} is not a finished fit of flarecast reproduce ({exc}); delete "
                    f"{self.folder} or run without --resume"
                ) from exc
            if meta["fingerprint"] != self.fingerprint:
                raise ConfigError(
                    f"{self.folder} holds fits of a different run (other options, protocol or "
                    "data), so they cannot be resumed: run without --resume to start afresh"
                )
            out[(int(meta["fold"]), str(meta["method"]))] = (fit, tables)
        return out

    def clear(self) -> None:
        """Delete the folder (after the outputs are written, or to start afresh)."""
        shutil.rmtree(self.folder, ignore_errors=True)
