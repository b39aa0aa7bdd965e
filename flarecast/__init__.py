"""flarecast: solar-flare forecasting from SHARP active-region features."""

__version__ = "0.1.0"

__all__ = ["__version__"]
