"""Reference forecasts that every flarecast method is compared with: McIntosh-Poisson, persistence, climatology."""
