"""Data: schema, readers, catalogues, the data-set registry and the synthetic demo set."""
