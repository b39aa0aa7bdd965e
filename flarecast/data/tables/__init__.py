"""Labelled feature tables: the published data sets' readers and the canonical table reader."""
