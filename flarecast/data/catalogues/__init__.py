"""Flare catalogues: readers of every supported event-list format into one event table."""
