"""Scale-out: executors that run labelling and fits on Dask."""
