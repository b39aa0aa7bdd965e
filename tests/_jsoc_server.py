"""A small DRMS ``jsoc_info`` server on 127.0.0.1 for the JSOC tests (no network, no mocks).

It answers the two CGI operations a keyword query uses, in JSOC's JSON layout:
``op=series_struct`` (keyword names and types, so ``drms`` converts numbers)
and ``op=rs_list`` (the records of ``series[harp][start_TAI/duration@cadence]``,
every value as text, QUALITY as ``0x`` hex, as JSOC sends them). ``fail_next``
makes the next N ``rs_list`` requests answer HTTP 500, like JSOC's intermittent failures.
"""

from __future__ import annotations

import http.server
import json
import re
import urllib.parse

import pandas as pd
from _http_server import LoopbackServer

_TYPES = {
    "HARPNUM": "int",
    "T_REC": "time",
    "NOAA_AR": "int",
    "NOAA_ARS": "string",
    "QUALITY": "int",
}
_UNITS = {"d": "D", "h": "h", "m": "min", "s": "s"}


def _duration(text: str) -> pd.Timedelta:
    m = re.fullmatch(r"(\d+)([dhms])", text)
    return pd.Timedelta(int(m[1]), _UNITS[m[2]])


class JsocServer(LoopbackServer):
    """Serve ``records`` (columns HARPNUM, T_REC as 'YYYY.MM.DD_hh:mm:ss_TAI', keywords) as series ``series``."""

    def __init__(self, records: pd.DataFrame, series: str = "hmi.sharp_cea_720s") -> None:
        self.records = records
        self.series = series
        self.fail_next = 0
        self.queries: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urllib.parse.urlparse(self.path)
                args = dict(urllib.parse.parse_qsl(url.query))
                if not url.path.endswith("jsoc_info"):
                    self.send_error(404)
                    return
                if args.get("op") == "series_struct":
                    body = server.series_struct()
                elif args.get("op") == "rs_list":
                    if server.fail_next > 0:
                        server.fail_next -= 1
                        self.send_error(500, "temporarily unavailable")
                        return
                    server.queries.append(args["ds"])
                    body = server.rs_list(args["ds"], args.get("key", "").split(","))
                else:
                    body = {"status": 1, "error": f"unknown op {args.get('op')!r}"}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._bind(Handler, "/cgi-bin/ajax/")

    def series_struct(self) -> dict:
        keywords = [
            {"name": c, "type": _TYPES.get(c, "double"), "units": "", "note": ""}
            for c in self.records.columns
        ]
        return {"status": 0, "primekeys": ["HARPNUM", "T_REC"], "dbindex": ["HARPNUM", "T_REC"],
                "keywords": keywords, "links": [], "segments": [], "note": "test series"}  # fmt: skip

    def rs_list(self, ds: str, keys: list[str]) -> dict:
        m = re.fullmatch(
            r"([\w.]+)\[(\d*)\]\[(\d{4})\.(\d\d)\.(\d\d)_(\d\d):(\d\d):(\d\d)_TAI/(\w+)@(\w+)\]", ds
        )
        if not m or m[1] != self.series:
            return {"status": 1, "error": f"bad record set {ds!r}"}
        start = pd.Timestamp(*(int(m[i]) for i in range(3, 9)))
        length, step = _duration(m[9]), _duration(m[10])
        recs = self.records
        t = pd.to_datetime(recs["T_REC"].str.replace("_TAI", ""), format="%Y.%m.%d_%H:%M:%S")
        keep = (t >= start) & (t < start + length) & ((t - start) % step == pd.Timedelta(0))
        if m[2]:
            keep &= recs["HARPNUM"].astype(int) == int(m[2])
        chosen = recs[keep]
        values = []
        for k in keys:
            column = chosen[k] if k in chosen.columns else pd.Series(["MISSING"] * len(chosen))
            if k == "QUALITY":
                values.append({"name": k, "values": [f"0x{int(v):08x}" for v in column]})
            else:
                values.append(
                    {"name": k, "values": ["nan" if pd.isna(v) else str(v) for v in column]}
                )
        return {"status": 0, "count": int(len(chosen)), "runtime": 0.01, "keywords": values}


def sharp_records(keywords: list[str]) -> pd.DataFrame:
    """Two HARPs over two days at 12 min: one near the limb late, one with QUALITY bits and a NaN."""
    rows = []
    for harp, ar in ((377, 11158), (401, 0)):
        for k in range(2 * 24 * 5):
            t = pd.Timestamp("2014-01-01") + k * pd.Timedelta("12min")
            row = {"HARPNUM": harp, "T_REC": f"{t:%Y.%m.%d_%H:%M:%S}_TAI", "NOAA_AR": ar,
                   "NOAA_ARS": str(ar), "QUALITY": 1024 if harp == 401 and k % 10 == 0 else 0,
                   "LON_FWT": -80.0 + k * 0.5 if harp == 377 else 10.0, "LAT_FWT": -20.0}  # fmt: skip
            row.update({kw: float(harp + k) for kw in keywords})
            if harp == 401 and k == 5:
                row[keywords[0]] = float("nan")
            rows.append(row)
    return pd.DataFrame(rows)
