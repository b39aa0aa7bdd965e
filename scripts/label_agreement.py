"""Agreement of a `flarecast label` table with a reference label column, record by record.

Usage::

    python scripts/label_agreement.py LABELLED_TABLE REFERENCE_CSV [--column max_class_next_0_24h]

The two are joined on (NOAA region, record time); classes are compared as peak fluxes
(``N`` = no flare = 0), so "M1" and "M1.0" agree. Prints the agreement over the records both
cover and a table of the disagreements by class letter.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from flarecast.data.tables.read import load_dataset
from flarecast.goes import class_letter, parse_goes_class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("reference")
    parser.add_argument("--column", default="max_class_next_0_24h")
    args = parser.parse_args()

    ours = load_dataset(args.table).frame[["noaa_ar", "time", "goes_class", "peak_flux"]]
    ref = pd.read_csv(args.reference, dtype={args.column: str}, keep_default_na=False)
    ref = ref.assign(
        time=pd.to_datetime(ref["T_REC"], utc=True), noaa_ar=ref["NOAA_AR"].astype("Int64")
    )
    ref = ref[ref[args.column] != ""]  # empty = window past the catalogue end
    ref_flux = parse_goes_class(
        ref[args.column], allow_none=True, source=args.reference, column=args.column
    )
    ref = ref.assign(ref_flux=ref_flux)[["noaa_ar", "time", "ref_flux"]]
    both = ours.merge(ref, on=["noaa_ar", "time"], how="inner")
    same = np.isclose(both["peak_flux"], both["ref_flux"], rtol=1e-6, atol=0)
    print(f"records in both: {len(both)} (table {len(ours)}, reference {len(ref)})")
    print(f"agreement: {same.sum()} / {len(both)} = {same.mean():.2%}")
    if (~same).any():
        diff = pd.crosstab(
            class_letter(both.loc[~same, "peak_flux"]),
            class_letter(both.loc[~same, "ref_flux"]),
            rownames=["table"],
            colnames=["reference"],
        )
        print("disagreements by letter:")
        print(diff.to_string())


if __name__ == "__main__":
    main()
