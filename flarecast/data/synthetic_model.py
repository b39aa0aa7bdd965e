"""The random model behind the SYNTHETIC ``demo`` data set (see :mod:`flarecast.data.synthetic`).

Regions are drawn, rotated across the disk, measured as SHARP-like keywords
with noise, and made to flare; :func:`simulate` draws all of it for one seed
from ``numpy.random.SeedSequence(seed)``, in a fixed order, so every output of
:mod:`flarecast.data.synthetic` is the same for the same seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR, PEAK_FLUX
from flarecast.errors import ConfigError
from flarecast.goes import flux_to_class, parse_goes_class

__all__ = ["SOURCE", "Simulation", "simulate"]

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
class Simulation:
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


def simulate(seed: int, n_regions: int, days: int, start: str | pd.Timestamp) -> Simulation:
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
    return Simulation(
        start=start_ts,
        days=days,
        hours=reg.hours,
        valid=reg.valid,
        noaa=_FIRST_NOAA + np.arange(n),
        harp=_FIRST_HARP + np.arange(n),
        columns=_measure(reg, clean, kappa, r_noise),
        flares=_draw_flares(reg, clean, activity, r_flare, r_cat, start_ts, days * 24),
    )
