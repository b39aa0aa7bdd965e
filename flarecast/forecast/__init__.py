"""The daily forecast: per-region and full-disk probabilities, the numpy engine and the report files."""
