"""The embedded SYNTHETIC ``demo`` data set: SHARP-like active regions and their flares.

Nothing here is observed data. The generator exists so that every part of
flarecast (and its tests, notebooks and CLI) can run offline, quickly and
deterministically, on data with the same shape, names, magnitudes and class
imbalance as the real SHARP/GOES tables, and with real but imperfect signal.

The model, per seed (every random draw comes from ``numpy.random.SeedSequence(seed)``):

1. **Regions.** Each active region has a birth time, a birth Carrington-like
   longitude and a latitude (|lat| ~ 15 deg), a peak unsigned flux
   ``log10 USFLUX ~ N(21.75, 0.45)`` Mx, a magnetic *complexity* ``kappa``
   (standard normal, correlated 0.45 with size) and growth/decay times
   (0.5-3 d and 3-20 d). Its flux follows
   ``Phi(t) = Phi_peak * (1 - exp(-tau/tau_g)) * exp(-tau/tau_d) / max``.
2. **Rotation.** The longitude advances at the synodic Snodgrass & Ulrich
   (1990) rate, about 13.3 deg/day, so a region crosses the disk from
   ``LON_FWT = -90`` to ``+90`` deg in about 13.5 days. A region is *visible*
   (has records) while ``|LON_FWT| <= 90`` and its flux is above 20 % of its
   peak; regions may be born on the disk or rotate in from the east limb.
3. **Features.** On an hourly grid, noise-free keyword values are log-linear
   in size and complexity (``log10 TOTPOT = 22.8 + 1.4 x + 0.35 kappa`` with
   ``x = log10 Phi - 21.75``, and so on), with the complexity drifting as an
   Ornstein-Uhlenbeck process (sigma 0.5, 48 h). The recorded values add
   measurement noise that grows towards the limb, where the extensive
   quantities are also biased low, as in real SHARP data.
4. **Flares.** The hourly flare rate is log-linear in the *noise-free*
   ``log10 TOTUSJH``, ``log10 TOTPOT``, ``R_VALUE`` and ``MEANSHR`` plus two
   things no feature sees: a per-region productivity (sigma 0.6) and a fast
   Ornstein-Uhlenbeck activity term (sigma 0.7, 12 h). Peak fluxes (from A3,
   capped at X20) follow a tapered power law
   ``P(F >= f) = (F_min / f) * exp(-(f - F_min) / F_taper)``: cumulative index
   1 (the observed flare-size distribution) with an exponential taper whose
   scale ``F_taper`` rises with the same linear predictor, as if the free
   energy capped the flare size. Bigger, more sheared regions therefore make
   both more and bigger flares, while small regions rarely pass C.
5. **Catalogue.** A flare is listed only if its peak exceeds a slowly varying
   full-disk background (about B4.5, varying by a factor 2 over days), so
   A-class entries are rare (4 % of the list) and B flares are missed at high
   background. Classes are truncated to one decimal as NOAA does, and 15 % of
   the listed flares below M1.0 carry no region number, as in the real lists.
6. **Labels.** :func:`demo_dataset` samples the records every 6 h, drops
   records with ``QUALITY != 0`` and those whose window runs past the end of
   the simulated period (both counted in the notes) and labels each with
   the largest *listed, attributed* flare of its region with peak in
   ``(t, t + 24 h]`` ('N' if none), exactly as a labeller reading the
   catalogue would.

With the defaults (360 regions over 365 days from 2011-01-01) the labelled
table has about 11,000 rows. For seed 0: 66 % N, 14 % B, 17 % C, 3.2 % M,
0.1 % A and 41 X rows (1.1 % of the flaring rows). X flares are few and each
labels up to four snapshots, so the X count varies with the seed (12 to 62
over seeds 0-7). A logistic regression separates M/X from C with ROC AUC
0.70-0.86 (seeds 0-7) on region folds: clear skill, far from perfect.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, HARPNUM, NOAA_AR, PEAK_FLUX, TIME, Dataset
from flarecast.data.synthetic_model import Simulation, simulate
from flarecast.errors import ConfigError
from flarecast.goes import flux_to_class

__all__ = ["FEATURES", "demo_sharp_series", "demo_catalogue", "demo_dataset"]

#: SHARP keywords produced by the generator, in table order.
FEATURES: tuple[str, ...] = (
    "USFLUX", "TOTUSJH", "TOTUSJZ", "ABSNJZH", "SAVNCPP", "TOTPOT", "MEANPOT", "R_VALUE",
    "AREA_ACR", "MEANSHR", "SHRGT45", "MEANGAM", "MEANGBT", "MEANJZH", "MEANALP",
)  # fmt: skip


def _duration(value: str | pd.Timedelta, name: str) -> pd.Timedelta:
    try:
        step = pd.Timedelta(value)
    except (TypeError, ValueError):
        step = pd.NaT
    if step is pd.NaT or step <= pd.Timedelta(0):
        raise ConfigError(
            f"The {name!r} parameter must be a positive duration such as '6h'. Got {value!r} instead."
        )
    return step


def _cadence_hours(cadence: str | pd.Timedelta, name: str = "cadence") -> int:
    hours = _duration(cadence, name) / pd.Timedelta("1h")
    if hours < 1 or hours != int(hours):
        raise ConfigError(
            f"The {name!r} parameter must be a whole number of hours >= 1 (the generator's grid). "
            f"Got {cadence!r} instead."
        )
    return int(hours)


def _series(sim: Simulation, step: int) -> pd.DataFrame:
    """Visible records every ``step`` hours, sorted by time then region."""
    # Records lie on a global grid (start + k * cadence) shared by all regions, like T_REC.
    mask = sim.valid & (sim.hours % step == 0)
    region, _ = np.nonzero(mask)
    hours = sim.hours[mask]
    order = np.lexsort((region, hours))
    region, hours = region[order], hours[order]
    frame = pd.DataFrame(
        {
            TIME: (sim.start + pd.to_timedelta(hours, unit="h")).as_unit("ns"),
            HARPNUM: pd.array(sim.harp[region], dtype="Int64"),
            NOAA_AR: pd.array(sim.noaa[region], dtype="Int64"),
        }
    )
    for name in ("LON_FWT", "LAT_FWT", "QUALITY", *FEATURES):
        frame[name] = sim.columns[name][mask][order]
    return frame


def demo_sharp_series(
    seed: int = 0,
    *,
    n_regions: int = 360,
    days: int = 365,
    start: str | pd.Timestamp = "2011-01-01",
    cadence: str | pd.Timedelta = "1h",
) -> pd.DataFrame:
    """SYNTHETIC SHARP-like keyword series of active regions crossing the disk.

    Parameters
    ----------
    seed : int, default 0
        Everything is determined by the seed (and the sizes below).
    n_regions : int, default 360
        Number of active regions.
    days : int, default 365
        Length of the simulated period, in days (>= 14).
    start : str or pandas.Timestamp, default "2011-01-01"
        Start of the period; a naive time is read as UTC.
    cadence : str or pandas.Timedelta, default "1h"
        Record spacing, a whole number of hours. Coarser cadences return a
        subset of the hourly records (same values).

    Returns
    -------
    pandas.DataFrame, shape (n_records, 6 + 15)
        ``time`` (datetime64[ns, UTC]), ``harpnum`` and ``noaa_ar`` (Int64),
        ``LON_FWT``, ``LAT_FWT`` (deg), ``QUALITY`` (int, mostly 0) and the
        keywords in :data:`FEATURES` (units as in
        :data:`flarecast.data.schema.SHARP_UNITS`), sorted by time then region.
    """
    step = _cadence_hours(cadence)
    return _series(simulate(seed, n_regions, days, start), step)


def demo_catalogue(
    seed: int = 0,
    *,
    n_regions: int = 360,
    days: int = 365,
    start: str | pd.Timestamp = "2011-01-01",
) -> pd.DataFrame:
    """SYNTHETIC GOES flare list of the regions of :func:`demo_sharp_series` (same seed and sizes).

    Returns
    -------
    pandas.DataFrame, shape (n_flares, 7)
        ``start``, ``peak``, ``end`` (datetime64[ns, UTC], minute precision),
        ``goes_class`` (e.g. "C2.3"), ``peak_flux`` (W m^-2, equal to the class),
        ``noaa_ar`` (Int64; missing for about 15 % of flares below M1.0) and
        ``source`` ("SYNTHETIC demo"), sorted by peak time.
    """
    return simulate(seed, n_regions, days, start).flares


def _window_max(rows: pd.DataFrame, catalogue: pd.DataFrame, window: pd.Timedelta) -> np.ndarray:
    """Largest flux of each row's region with peak in ``(time, time + window]``; 0 if none.

    Private and deliberately small (flarecast.labels holds the full labeller).
    Flares without a region are ignored. Vectorised: flares are sorted by
    (region, peak) on one integer axis, each row's window becomes a slice
    found by ``searchsorted``, and the slices are scanned by offset.
    """
    cat = catalogue[catalogue[NOAA_AR].notna()]
    regions = np.union1d(
        rows[NOAA_AR].to_numpy(dtype=np.int64), cat[NOAA_AR].to_numpy(dtype=np.int64)
    )
    times = pd.concat([rows[TIME], cat["peak"]])
    t0 = times.min()
    # One integer axis: region code * stride + seconds since t0, the stride longer than any window.
    stride = int((times.max() - t0 + 2 * window).total_seconds()) + 1

    def key(ar: pd.Series, t: pd.Series) -> np.ndarray:
        code = np.searchsorted(regions, ar.to_numpy(dtype=np.int64))
        return code * stride + ((t - t0).dt.total_seconds().to_numpy() // 1).astype(np.int64)

    flare_key = key(cat[NOAA_AR], cat["peak"])
    order = np.argsort(flare_key, kind="stable")
    flare_key, flux = flare_key[order], cat[PEAK_FLUX].to_numpy(dtype=float)[order]
    row_key = key(rows[NOAA_AR], rows[TIME])
    lo = np.searchsorted(flare_key, row_key, side="right")
    hi = np.searchsorted(flare_key, row_key + int(window.total_seconds()), side="right")
    out = np.zeros(len(rows))
    for j in range(int((hi - lo).max(initial=0))):
        inside = lo + j < hi
        out[inside] = np.maximum(out[inside], flux[lo[inside] + j])
    return out


def demo_dataset(
    seed: int = 0,
    *,
    n_regions: int = 360,
    days: int = 365,
    start: str | pd.Timestamp = "2011-01-01",
    sample: str | pd.Timedelta = "6h",
    window: str | pd.Timedelta = "24h",
) -> Dataset:
    """The SYNTHETIC labelled ``demo`` table: region snapshots with their next-``window`` largest flare.

    Parameters
    ----------
    seed, n_regions, days, start
        As in :func:`demo_sharp_series`.
    sample : str or pandas.Timedelta, default "6h"
        Spacing of the labelled snapshots (a whole number of hours).
    window : str or pandas.Timedelta, default "24h"
        Forecast window: a snapshot at ``t`` gets the largest flare of its
        region with peak in ``(t, t + window]``.

    Returns
    -------
    Dataset
        ``synthetic=True``, ``name="demo"``; the frame has the canonical
        columns (``time``, ``noaa_ar``, ``harpnum``, ``goes_class``,
        ``peak_flux``, ``LON_FWT``, ``LAT_FWT``) and :data:`FEATURES`. With the
        defaults about 11,000 rows from 360 regions, classes N/A/B/C/M/X.
        ``sha256`` hashes the frame's contents, so artifacts can tell demo
        tables made with different seeds or sizes apart.
    """
    every = _cadence_hours(sample, "sample")
    step = _duration(window, "window")
    sim = simulate(seed, n_regions, days, start)
    records = _series(sim, every)
    good = records["QUALITY"].to_numpy() == 0
    # A window running past the simulated period would be partly unobserved: such rows would
    # read as quieter than they are, so they are dropped (and counted) rather than labelled.
    complete = (records[TIME] + step <= sim.start + pd.Timedelta(days=days)).to_numpy()
    frame = records[good & complete].drop(columns="QUALITY").reset_index(drop=True)
    flux = _window_max(frame, sim.flares, step)
    frame.insert(3, GOES_CLASS, flux_to_class(flux))
    frame.insert(4, PEAK_FLUX, flux)
    checksum = hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    ).hexdigest()
    hours = step / pd.Timedelta("1h")
    return Dataset(
        frame=frame,
        name="demo",
        features=FEATURES,
        synthetic=True,
        sha256=checksum,
        window=f"largest listed flare of the region with peak in (t, t + {hours:g} h] (SYNTHETIC)",
        flaring_only=False,
        notes=(
            f"SYNTHETIC demo data from flarecast.data.synthetic (seed={seed}, n_regions={n_regions}, "
            f"days={days}, sample={sample}); not observations.",
            f"{int((~good).sum())} of {len(records)} sampled records with QUALITY != 0 were dropped.",
            f"{int((good & ~complete).sum())} records whose window ends after the simulated period "
            "were dropped.",
            f"{int(sim.flares[NOAA_AR].isna().sum())} of {len(sim.flares)} catalogue flares have no "
            "region number and label no row.",
        ),
    )
