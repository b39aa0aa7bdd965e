"""SHARP series: files and JSOC queries into canonical SHARP records."""
