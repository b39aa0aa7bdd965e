"""Feature transforms: signed log and z-scores, fitted on training rows only."""
