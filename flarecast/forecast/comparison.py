"""McIntosh-Poisson beside flarecast: the comparison block of the daily report, as SolarMonitor shows it.

Given the day's SRS (:func:`flarecast.data.tables.srs_text.read_srs_text`)
and a rates file (:mod:`flarecast.forecast.rates`), each NOAA region with
sunspots gets MCSTAT's P(>= M) and P(>= X) (Poisson rate of its McIntosh
class, ``P = 1 - exp(-rate)``) and, when the previous day's SRS is given,
MCEVOL's (rate of its (yesterday's class, today's class) pair). Regions are
matched to flarecast's by NOAA number in the 5-digit convention. Each
method's full-disk probability is ``1 - prod(1 - p_i)`` over its own regions:
the SRS regions for MCSTAT and MCEVOL, the SHARP regions for flarecast.

Each method's track record comes from a verification table (``table.csv``
of ``flarecast backtest`` or ``flarecast verify``) given with ``--skill``;
a method without a row there is said to have no verified track record.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR
from flarecast.data.tables.srs import five_digit_regions, mcintosh_class
from flarecast.errors import ConfigError, DataError
from flarecast.forecast.core import Forecast, full_disk_probability
from flarecast.forecast.rates import rate_models
from flarecast.reference.history import PREV_CLASS

__all__ = [
    "METHODS",
    "NO_RECORD",
    "Comparison",
    "compare",
    "comparison_to_dict",
    "read_skill",
    "skill_text",
]

#: The methods of the comparison, in the order the report shows them.
METHODS = ("flarecast", "MCSTAT", "MCEVOL")
NO_RECORD = "no verified track record"
_DESCRIPTIONS = {
    "flarecast": "this report's model (SHARP records)",
    "MCSTAT": "Poisson rate of the region's McIntosh class (Gallagher et al. 2002; Bloomfield et al. 2012)",
    "MCEVOL": "Poisson rate of the region's (previous-day class, class) pair, backing off to MCSTAT "
    "(McCloskey et al. 2016)",
}
_LEVELS = ("region-day", "full-disk day")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The comparison block of one forecast.

    Attributes
    ----------
    regions : pandas.DataFrame
        One row per region listed by the SRS or by flarecast, sorted by NOAA
        number: ``region``, ``noaa_ar``, ``mcintosh``, ``prev_mcintosh``
        (None when unknown), ``location``, and ``{method}_m`` / ``{method}_x``
        probabilities (NaN where a method has none) plus ``{method}_source``
        for MCSTAT and MCEVOL (where the rate came from: class, pair, zurich, climatology).
    full_disk : dict of method to (p_m, p_x)
    methods : tuple of str
        The methods shown (MCEVOL only with the previous day's SRS).
    skill : dict of method to dict of level to dict, or None per method
        Rows of the verification table(s) given with ``--skill``.
    srs, previous, rates : dict
        Provenance: the SRS files (source, sha256, issue_time) and the rates file.
    notes : tuple of str
    """

    regions: pd.DataFrame
    full_disk: dict[str, tuple[float, float]]
    methods: tuple[str, ...]
    skill: dict[str, dict[str, dict[str, float]] | None]
    srs: dict[str, Any]
    previous: dict[str, Any] | None
    rates: dict[str, Any]
    notes: tuple[str, ...]

    @staticmethod
    def description(method: str) -> str:
        return _DESCRIPTIONS[method]


def _provenance(frame: pd.DataFrame) -> dict[str, Any]:
    t = frame.attrs.get("issue_time")
    return {
        "source": str(frame.attrs.get("source", "")),
        "sha256": frame.attrs.get("sha256"),
        "issue_time": None if t is None else pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _previous_classes(srs: pd.DataFrame, previous: pd.DataFrame) -> np.ndarray:
    day = pd.Timestamp(srs.attrs["issue_time"]).floor("D")
    prev_day = pd.Timestamp(previous.attrs["issue_time"]).floor("D")
    if prev_day != day - pd.Timedelta(days=1):
        raise ConfigError(
            f"--srs-previous {previous.attrs.get('source')} was issued on {prev_day:%Y-%m-%d}, not on the "
            f"day before --srs {srs.attrs.get('source')} ({day:%Y-%m-%d})."
        )
    classes = pd.Series(
        mcintosh_class(previous), index=previous[NOAA_AR].astype("int64").to_numpy()
    )
    return srs[NOAA_AR].astype("int64").map(classes).to_numpy(dtype=object)


def _location(lat: float, lon: float) -> str:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return ""
    return f"{'N' if lat >= 0 else 'S'}{abs(lat):02.0f}{'W' if lon >= 0 else 'E'}{abs(lon):02.0f}"


def compare(
    fc: Forecast,
    srs: pd.DataFrame,
    rates: dict[str, Any],
    *,
    previous: pd.DataFrame | None = None,
    skill: dict[str, dict[str, dict[str, float]]] | None = None,
) -> Comparison:
    """MCSTAT (and MCEVOL with ``previous``) beside ``fc`` for the regions of ``srs``.

    Parameters
    ----------
    fc : Forecast
    srs, previous : pandas.DataFrame
        The day's SRS and the previous day's, from :func:`~flarecast.data.tables.srs_text.read_srs_text`.
    rates : dict
        From :func:`flarecast.forecast.rates.load_rates`.
    skill : dict, optional
        From :func:`read_skill`.

    Raises
    ------
    ConfigError
        The SRS is not of the forecast's UT issue day, or ``previous`` not of the day before.
    """
    issued = pd.Timestamp(srs.attrs["issue_time"])
    if issued.floor("D") != fc.issue_time.floor("D"):
        raise ConfigError(
            f"--srs {srs.attrs.get('source')} was issued on {issued:%Y-%m-%d}, but the forecast is for "
            f"{fc.issue_time:%Y-%m-%d}: give the SRS of the forecast's day (or --date {issued:%Y-%m-%d})."
        )
    methods = ("flarecast", "MCSTAT", *(("MCEVOL",) if previous is not None else ()))
    table = pd.DataFrame(
        {
            NOAA_AR: srs[NOAA_AR].astype("int64").to_numpy(),
            "mcintosh": mcintosh_class(srs) if len(srs) else np.array([], dtype=object),
            "location": [
                _location(a, o)
                for a, o in zip(srs["latitude_deg"], srs["longitude_deg"], strict=True)
            ],
        }
    )
    data = srs.reset_index(drop=True).copy()
    if previous is not None:
        data[PREV_CLASS] = _previous_classes(srs, previous) if len(srs) else []
        table["prev_mcintosh"] = data[PREV_CLASS].to_numpy(dtype=object)
    else:
        table["prev_mcintosh"] = None
    for threshold in ("m", "x"):
        mcstat, mcevol = rate_models(rates, threshold.upper())
        for name, model in (("MCSTAT", mcstat), ("MCEVOL", mcevol)):
            if name in methods and len(data):
                rate, source = model.rates(data)
                table[f"{name}_{threshold}"] = -np.expm1(-rate)
                table[f"{name}_source"] = source
            else:
                table[f"{name}_{threshold}"] = np.nan
                table[f"{name}_source"] = None
    ours = fc.regions.loc[fc.regions[NOAA_AR].notna()].copy()
    ours["key"] = five_digit_regions(ours[NOAA_AR].astype("int64").to_numpy())[0]
    ours = ours.drop_duplicates("key")
    merged = table.merge(
        ours[["key", "region", "location", "p_m", "p_x"]].rename(
            columns={"key": NOAA_AR, "location": "flarecast_location"}
        ),
        on=NOAA_AR,
        how="outer",
    )
    merged["location"] = merged["location"].where(
        merged["location"].notna(), merged["flarecast_location"]
    )
    merged["location"] = merged["location"].fillna("")
    # one key for both sides: the 5-digit NOAA number (flarecast shows its own region id beside it)
    merged["region"] = merged[NOAA_AR].astype(str)
    merged = merged.rename(columns={"p_m": "flarecast_m", "p_x": "flarecast_x"})
    merged = merged.drop(columns="flarecast_location").sort_values(NOAA_AR, ignore_index=True)
    full = {"flarecast": (fc.full_disk_m, fc.full_disk_x)}
    for name in methods[1:]:
        full[name] = (
            full_disk_probability(table[f"{name}_m"]),
            full_disk_probability(table[f"{name}_x"]),
        )
    in_srs, ours_m = merged["mcintosh"].notna(), merged["flarecast_m"].notna()
    notes = [
        *srs.attrs.get("notes", []),
        f"{int(in_srs.sum())} SRS region(s), {len(ours)} flarecast region(s) with a NOAA number, "
        f"{int((in_srs & merged[NOAA_AR].isin(ours['key'])).sum())} in both; "
        f"{int((in_srs & ~ours_m).sum())} SRS region(s) have no flarecast forecast.",
        "Each method's full disk is 1 - prod(1 - p_i) over its own regions (MCSTAT/MCEVOL: the SRS "
        "regions; flarecast: its SHARP regions). The SRS rates count flares on the SRS issue's UT day; "
        "flarecast's window starts at its issue time.",
    ]
    if previous is None:
        notes.append("MCEVOL not shown: the previous day's SRS was not given (--srs-previous).")
    for name in methods[1:]:
        counts = pd.Series(table[f"{name}_source"]).value_counts().to_dict()
        backoff = {k: v for k, v in counts.items() if k not in ("class", "pair")}
        if backoff:
            notes.append(f"{name}: rates of {backoff} region(s) come from a back-off rule.")
    return Comparison(
        regions=merged,
        full_disk=full,
        methods=methods,
        skill={m: (skill or {}).get(m) for m in methods},
        srs=_provenance(srs),
        previous=None if previous is None else _provenance(previous),
        rates={k: rates.get(k) for k in ("path", "dataset", "dataset_sha256", "train_until",
                                         "first_issue", "last_issue", "region_days", "min_days")},
        notes=tuple(notes),
    )  # fmt: skip


def read_skill(paths: list[str | Path]) -> dict[str, dict[str, dict[str, float]]]:
    """Method -> level -> scores, from ``table.csv`` files of ``flarecast backtest`` or ``flarecast verify``.

    A method in several files keeps the last file's rows. Each entry holds
    ``bss``, ``roc_auc``, ``tss`` (and their ``_low``/``_high`` interval ends
    when present), ``n``, ``events`` and ``file``.
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    wanted = ("n", "events", "bss", "bss_low", "bss_high", "roc_auc", "roc_auc_low",
              "roc_auc_high", "tss", "tss_low", "tss_high")  # fmt: skip
    for path in paths:
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"--skill {path}: not a readable table.csv ({exc}).") from exc
        missing = [
            c for c in ("method", "level", "bss", "roc_auc", "tss") if c not in table.columns
        ]
        if missing:
            raise DataError(
                f"--skill {path}: columns {missing} missing; expected the table.csv of "
                "flarecast backtest or flarecast verify."
            )
        for row in table.to_dict(orient="records"):
            if row["level"] not in _LEVELS:
                continue
            entry = {k: float(row[k]) for k in wanted if k in row and pd.notna(row[k])}
            entry["file"] = str(path)
            out.setdefault(str(row["method"]), {})[row["level"]] = entry
    return out


def _interval(entry: dict[str, Any], key: str) -> str:
    fmt = "{:+.2f}" if key == "bss" else "{:.2f}"
    text = fmt.format(entry[key]) if key in entry else "n/a"
    if f"{key}_low" in entry and f"{key}_high" in entry:
        text += f" [{fmt.format(entry[f'{key}_low'])}, {fmt.format(entry[f'{key}_high'])}]"
    return text


def skill_text(skill: dict[str, dict[str, Any]] | None) -> str:
    """One line: each level's BSS, ROC AUC and TSS with their intervals, or :data:`NO_RECORD`."""
    if not skill:
        return NO_RECORD
    parts = []
    for level in _LEVELS:
        entry = skill.get(level)
        if entry:
            parts.append(
                f"{level}: BSS {_interval(entry, 'bss')}, ROC AUC {_interval(entry, 'roc_auc')}, "
                f"TSS {_interval(entry, 'tss')} (n={int(entry.get('n', 0))}, "
                f"{int(entry.get('events', 0))} events; {Path(entry['file']).name})"
            )
    return "; ".join(parts) or NO_RECORD


def comparison_to_dict(cmp: Comparison, num: Any) -> dict[str, Any]:
    """The ``comparison`` object of forecast.json (``num`` turns NaN into null)."""
    regions = []
    for r in cmp.regions.to_dict(orient="records"):
        entry = {
            "region": str(r["region"]),
            "noaa_ar": int(r[NOAA_AR]),
            "mcintosh": r["mcintosh"] if isinstance(r["mcintosh"], str) else None,
            "prev_mcintosh": r["prev_mcintosh"] if isinstance(r["prev_mcintosh"], str) else None,
            "location": (r["location"] or None) if isinstance(r["location"], str) else None,
        }
        for m in cmp.methods:
            p = {"p_m": num(r[f"{m}_m"]), "p_x": num(r[f"{m}_x"])}
            if m != "flarecast":
                p["rate_source"] = r[f"{m}_source"] if isinstance(r[f"{m}_source"], str) else None
            entry[m] = p
        regions.append(entry)
    return {
        "srs": cmp.srs,
        "srs_previous": cmp.previous,
        "rates": cmp.rates,
        "methods": [
            {
                "name": m,
                "description": cmp.description(m),
                "full_disk": {"p_m": num(cmp.full_disk[m][0]), "p_x": num(cmp.full_disk[m][1])},
                "skill": cmp.skill.get(m),
                "skill_text": skill_text(cmp.skill.get(m)),
            }
            for m in cmp.methods
        ],
        "regions": regions,
        "notes": list(cmp.notes),
    }
