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

import dataclasses
import hashlib

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, HARPNUM, NOAA_AR, PEAK_FLUX, TIME, Dataset
from flarecast.errors import ConfigError
from flarecast.goes import flux_to_class, parse_goes_class

__all__ = ["FEATURES", "demo_sharp_series", "demo_catalogue", "demo_dataset"]

#: SHARP keywords produced by the generator, in table order.
FEATURES: tuple[str, ...] = (
    "USFLUX", "TOTUSJH", "TOTUSJZ", "ABSNJZH", "SAVNCPP", "TOTPOT", "MEANPOT", "R_VALUE",
    "AREA_ACR", "MEANSHR", "SHRGT45", "MEANGAM", "MEANGBT", "MEANJZH", "MEANALP",
)  # fmt: skip

SOURCE = "SYNTHETIC demo"
_FIRST_NOAA = 11158  # numbering starts where a famous SDO-era region did; the data are not real
_FIRST_HARP = 377
_MAX_HOURS = 360  # longest possible disk passage (about 14.5 days at |lat| = 40 deg), in hours
_QUALITY_FLAGS = np.array([0x400, 0x10000])  # arbitrary nonzero bits: only QUALITY == 0 matters
_FLUX_MIN = 10**-7.5  # A3, W m^-2: the smallest flare the regions make
_FLUX_MAX = 2e-3  # X20, W m^-2: top of the truncated power law

# Noise-free keyword models: value = a + b * x + c * kappa, x = log10(USFLUX) - 21.75.
# (a, b, c, noise sd at disk centre, log10?) -- magnitudes from the umich SHARP files.
_KEYWORDS: dict[str, tuple[float, float, float, float, bool]] = {
    "TOTUSJH": (2.7, 1.1, 0.25, 0.08, True),  # G^2/m
    "TOTUSJZ": (13.0, 0.9, 0.15, 0.06, True),  # A
    "ABSNJZH": (1.6, 1.0, 0.45, 0.30, True),  # G^2/m
    "SAVNCPP": (12.2, 1.0, 0.40, 0.25, True),  # A
    "TOTPOT": (22.8, 1.4, 0.35, 0.12, True),  # erg/cm
    "MEANPOT": (3.65, 0.3, 0.20, 0.08, True),  # erg/cm^3
    "R_VALUE": (2.6, 1.3, 0.50, 0.20, False),  # log10 Mx, floored at 0
    "AREA_ACR": (2.45, 1.0, 0.00, 0.04, True),  # micro-hemispheres
    "MEANSHR": (33.0, 4.0, 6.00, 2.50, False),  # deg
    "SHRGT45": (25.0, 8.0, 11.0, 3.50, False),  # %
    "MEANGAM": (40.0, 2.0, 2.00, 4.00, False),  # deg
    "MEANGBT": (85.0, 12.0, 6.00, 7.00, False),  # G/Mm
}


@dataclasses.dataclass(frozen=True)
class _Simulation:
    """Everything drawn for one seed, on a (region, hour) grid of shape (n, _MAX_HOURS)."""

    start: pd.Timestamp
    days: int
    hours: np.ndarray  # (n, L) int: hours since start
    valid: np.ndarray  # (n, L) bool: the region is visible
    noaa: np.ndarray  # (n,) int
    harp: np.ndarray  # (n,) int
    columns: dict[str, np.ndarray]  # LON_FWT, LAT_FWT, QUALITY and FEATURES, each (n, L)
    flares: pd.DataFrame  # catalogue in canonical event columns


def _check_sizes(seed: int, n_regions: int, days: int) -> None:
    problems = []
    if not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(f"The 'seed' parameter must be an int >= 0. Got {seed!r} instead.")
    if not isinstance(n_regions, int | np.integer) or n_regions < 1:
        problems.append(
            f"The 'n_regions' parameter must be an int >= 1. Got {n_regions!r} instead."
        )
    if not isinstance(days, int | np.integer) or days < 14:
        problems.append(
            f"The 'days' parameter must be an int >= 14 (one disk passage). Got {days!r} instead."
        )
    if problems:
        raise ConfigError(" ".join(problems))


def _ou(
    rng: np.random.Generator, shape: tuple[int, int], sigma: float, tau_hours: float
) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck paths along axis 1, hourly steps."""
    phi = np.exp(-1.0 / tau_hours)
    eps = rng.standard_normal(shape)
    out = np.empty(shape)
    out[:, 0] = sigma * eps[:, 0]
    innovation = sigma * np.sqrt(1 - phi**2)
    for j in range(1, shape[1]):
        out[:, j] = phi * out[:, j - 1] + innovation * eps[:, j]
    return out


@dataclasses.dataclass(frozen=True)
class _Regions:
    """Per-region draws (shape (n,)) and the (n, _MAX_HOURS) hourly grid of their disk passage."""

    hours: np.ndarray  # (n, L) int: hours since start
    valid: np.ndarray  # (n, L) bool: visible (on the disk and not yet decayed)
    lon: np.ndarray  # (n, L) deg
    lat: np.ndarray  # (n,) deg
    x: np.ndarray  # (n, L) log10 USFLUX - 21.75
    productivity: np.ndarray  # (n,) hidden log flare productivity
    helicity_sign: np.ndarray  # (n,) +-1
    kappa0: np.ndarray  # (n,)


def _draw_regions(rng: np.random.Generator, n_regions: int, days: int) -> _Regions:
    """Draw candidate regions (oversampled) and keep the first ``n_regions`` visible for >= 24 h."""
    n_hours = days * 24
    m = 3 * n_regions + 50
    t_birth = rng.uniform(-20 * 24, n_hours, m)
    lon_birth = rng.uniform(-150, 80, m)
    lat = rng.choice([-1.0, 1.0], m) * np.clip(rng.normal(15, 7, m), 2, 40)
    log_peak = np.clip(rng.normal(21.75, 0.45, m), 20.3, 23.4)
    z_size = (log_peak - 21.75) / 0.45
    kappa0 = 0.45 * z_size + np.sqrt(1 - 0.45**2) * rng.standard_normal(m)  # corr 0.45 with size
    tau_g = rng.uniform(12, 72, m)
    tau_d = np.exp(rng.uniform(np.log(72), np.log(480), m))
    productivity = rng.normal(0, 0.6, m)
    # Hemispheric helicity rule (negative in the north) with 30 % exceptions.
    helicity_sign = -np.sign(lat) * np.where(rng.random(m) < 0.3, -1, 1)

    s = np.sin(np.radians(lat)) ** 2
    omega = (14.713 - 2.396 * s - 1.787 * s**2 - 0.9856) / 24  # synodic, deg/hour
    t_east = t_birth + np.maximum(-90 - lon_birth, 0) / omega
    first = np.ceil(np.maximum(np.maximum(t_birth, t_east), 0)).astype(int)
    hours = first[:, None] + np.arange(_MAX_HOURS)[None, :]
    tau = hours - t_birth[:, None]
    lon = lon_birth[:, None] + omega[:, None] * tau
    t_star = tau_g * np.log1p(tau_d / tau_g)  # time of peak flux
    e_max = (1 - np.exp(-t_star / tau_g)) * np.exp(-t_star / tau_d)
    env = (1 - np.exp(-tau / tau_g[:, None])) * np.exp(-tau / tau_d[:, None]) / e_max[:, None]
    valid = (lon <= 90) & (env >= 0.2) & (hours < n_hours)
    keep = np.flatnonzero(valid.sum(axis=1) >= 24)[:n_regions]
    if len(keep) < n_regions:
        raise ConfigError(
            f"Only {len(keep)} of the requested {n_regions} regions fit in {days} days; "
            "ask for more 'days' or fewer 'n_regions'."
        )
    # NOAA and HARP numbers are handed out in order of first appearance, as in reality.
    keep = keep[np.argsort(first[keep], kind="stable")]
    return _Regions(
        hours=hours[keep],
        valid=valid[keep],
        lon=lon[keep],
        lat=lat[keep],
        x=(log_peak[:, None] + np.log10(np.maximum(env, 1e-12)) - 21.75)[keep],
        productivity=productivity[keep],
        helicity_sign=helicity_sign[keep],
        kappa0=kappa0[keep],
    )


def _measure(
    reg: _Regions, clean: dict[str, np.ndarray], kappa: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Recorded values: noise-free keywords plus noise that grows towards the limb."""
    shape = reg.lon.shape
    mu = np.cos(np.radians(np.clip(reg.lon, -90, 90))) * np.cos(np.radians(reg.lat))[:, None]
    limb = 1 + 2 * (1 - mu) ** 2
    bias = -0.15 * (1 - mu)  # extensive quantities read low near the limb (foreshortening)
    cols: dict[str, np.ndarray] = {
        "LON_FWT": reg.lon,
        "LAT_FWT": reg.lat[:, None] + 0.3 * rng.standard_normal(shape),
    }
    flagged = rng.random(shape) < 0.01 + 0.1 * (np.abs(reg.lon) > 75)
    cols["QUALITY"] = np.where(flagged, rng.choice(_QUALITY_FLAGS, shape), 0).astype(np.int64)
    cols["USFLUX"] = 10 ** (reg.x + 21.75 + bias + 0.03 * limb * rng.standard_normal(shape))
    for name, (_, _, _, sd, logged) in _KEYWORDS.items():
        noisy = clean[name] + sd * limb * rng.standard_normal(shape)
        if logged:
            cols[name] = 10 ** (noisy + bias)
        elif name == "R_VALUE":
            cols[name] = np.where(clean[name] > 0, np.maximum(noisy, 0.0), 0.0)
        elif name == "SHRGT45":
            cols[name] = np.clip(noisy, 0, 100)
        else:
            cols[name] = noisy
    twist = reg.helicity_sign[:, None] * 10 ** (0.3 * kappa)
    cols["MEANJZH"] = 0.004 * twist + 0.006 * limb * rng.standard_normal(shape)
    cols["MEANALP"] = 0.010 * twist + 0.015 * limb * rng.standard_normal(shape)
    return cols


def _draw_flares(
    reg: _Regions,
    clean: dict[str, np.ndarray],
    activity: np.ndarray,
    rng: np.random.Generator,
    rng_cat: np.random.Generator,
    start: pd.Timestamp,
    n_hours: int,
) -> pd.DataFrame:
    """Flares from the hazard, then what a catalogue lists of them (canonical event columns)."""
    score = (
        1.0 * (clean["TOTUSJH"] - 3.0)
        + 0.5 * (clean["TOTPOT"] - 23.0)
        + 0.4 * (clean["R_VALUE"] - 3.0)
        + 0.3 * (clean["MEANSHR"] - 35.0) / 10.0
    )
    hidden = reg.productivity[:, None] + activity
    rate = np.exp(-0.5 + score + hidden)  # flares >= _FLUX_MIN per hour
    counts = np.where(reg.valid, rng.poisson(rate), 0).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    # Tapered power law (survival = Pareto x exponential) is the minimum of a Pareto and a shifted
    # exponential draw. The taper grows with the same predictor, so small regions rarely pass C.
    taper = 10 ** (-5.6 + 0.75 * score.ravel()[cell] + 0.2 * hidden.ravel()[cell])
    pareto = _FLUX_MIN / rng.random(cell.size)
    flux = np.minimum(np.minimum(pareto, _FLUX_MIN + rng.exponential(taper)), _FLUX_MAX)
    region = cell // _MAX_HOURS
    peak_min = np.round((reg.hours.ravel()[cell] + rng.random(cell.size)) * 60).astype(np.int64)
    rise = np.round(np.exp(rng.normal(np.log(10), 0.5, cell.size)))
    decay = np.round(rise * rng.uniform(1.5, 4.0, cell.size))

    # A catalogue lists a flare only above the (slowly varying) full-disk background.
    background = 10 ** (-6.35 + _ou(rng_cat, (1, n_hours + 1), 0.3, 120.0)[0])
    listed = flux >= background[np.minimum(peak_min // 60, n_hours)]
    order = np.flatnonzero(listed)[np.argsort(peak_min[listed], kind="stable")]
    classes = flux_to_class(flux[order])  # truncated to one decimal, as NOAA does
    quantised = parse_goes_class(classes)
    unattributed = (quantised < 1e-5) & (rng_cat.random(order.size) < 0.15)
    peak = start + pd.to_timedelta(peak_min[order], unit="min")
    return pd.DataFrame(
        {
            "start": (peak - pd.to_timedelta(rise[order], unit="min")).as_unit("ns"),
            "peak": peak.as_unit("ns"),
            "end": (peak + pd.to_timedelta(decay[order], unit="min")).as_unit("ns"),
            GOES_CLASS: classes,
            PEAK_FLUX: quantised,
            NOAA_AR: pd.arrays.IntegerArray(
                (_FIRST_NOAA + region[order]).astype(np.int64), unattributed
            ),
            "source": SOURCE,
        }
    )


def _simulate(seed: int, n_regions: int, days: int, start: str | pd.Timestamp) -> _Simulation:
    """Draw everything for one seed; independent streams keep the catalogue cadence-free."""
    _check_sizes(seed, n_regions, days)
    start_ts = pd.Timestamp(start)
    start_ts = (
        start_ts.tz_localize("UTC") if start_ts.tzinfo is None else start_ts.tz_convert("UTC")
    )
    r_reg, r_path, r_flare, r_noise, r_cat = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
    )
    reg = _draw_regions(r_reg, n_regions, days)
    n = len(reg.lat)
    kappa = reg.kappa0[:, None] + _ou(r_path, (n, _MAX_HOURS), 0.5, 48.0)
    activity = _ou(r_path, (n, _MAX_HOURS), 0.7, 12.0)
    clean = {k: a + b * reg.x + c * kappa for k, (a, b, c, _, _) in _KEYWORDS.items()}
    clean["R_VALUE"] = np.maximum(clean["R_VALUE"], 0.0)  # no strong-field PIL -> 0
    return _Simulation(
        start=start_ts,
        days=days,
        hours=reg.hours,
        valid=reg.valid,
        noaa=_FIRST_NOAA + np.arange(n),
        harp=_FIRST_HARP + np.arange(n),
        columns=_measure(reg, clean, kappa, r_noise),
        flares=_draw_flares(reg, clean, activity, r_flare, r_cat, start_ts, days * 24),
    )


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


def _series(sim: _Simulation, step: int) -> pd.DataFrame:
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
    return _series(_simulate(seed, n_regions, days, start), step)


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
    return _simulate(seed, n_regions, days, start).flares


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
    sim = _simulate(seed, n_regions, days, start)
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
