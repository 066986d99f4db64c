#!/usr/bin/env python3
"""Compares a medpipe features.csv row with IBSI reference values.

usage: ibsi_compare.py REFERENCE.csv FEATURES.csv [DATA]

DATA selects the reference rows of one data set ("config. A"; default: "dig. phantom").

A reference row matches the feature column whose name ends in its IBSI code (and, for texture
features, the aggregation's code). Where the reference gives a tolerance, |value - reference| must
be within it; where it gives none (the digital phantom), the value rounded to the reference's
three significant digits must equal it, as IBSI compares them.
"""
import csv
import math
import sys

AGGREGATIONS = {
    "2D, averaged": "BTW3", "2D, slice-merged": "SUJT", "2.5D, direction-merged": "JJUI",
    "2.5D, merged": "ZW7Z", "3D, averaged": "ITBB", "3D, merged": "IAZD",
    "2D": "8QNN", "2.5D": "62GR", "3D": "KOBO", "": "",
}
# Codes that IBSI gives to two features: told apart by the name's feature part, in reference order.
SHARED_CODES = {"BC2M": ["v10", "v90"], "GBPN": ["i10", "i90"], "1PR8": ["min", "p10"]}


def significant(value, digits=3):
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def matches(value, reference, tolerance):
    if not math.isfinite(value):
        return False
    if tolerance:
        return abs(value - reference) <= float(tolerance) + 1e-12
    return significant(value) == significant(reference)


def compare(reference_path, features_path, data="dig. phantom"):
    with open(features_path) as f:
        rows = list(csv.DictReader(f))
    values = {k: float(v) for k, v in rows[0].items() if k != "image"}
    seen = {}
    results = []
    with open(reference_path, encoding="utf-8") as f:
        references = list(csv.DictReader(f))
    for ref in references:
        if ref["data"] != data:
            continue
        code, agg = ref["ibsi_code"], AGGREGATIONS[ref["aggregation"]]
        suffix = f"_{code}" + (f"_{agg}" if agg else "")
        candidates = [k for k in values if k.endswith(suffix)]
        if code in SHARED_CODES:
            nth = seen.get((code, agg), 0)
            seen[(code, agg)] = nth + 1
            part = SHARED_CODES[code][nth]
            candidates = [k for k in candidates if f"_{part}_" in k]
        column = candidates[0] if len(candidates) == 1 else None
        value = values[column] if column else float("nan")
        ok = column is not None and matches(value, float(ref["value"]), ref["tolerance"])
        results.append({"family": ref["family"], "feature": ref["feature"], "code": code,
                        "aggregation": ref["aggregation"], "reference": float(ref["value"]),
                        "tolerance": ref["tolerance"], "column": column, "value": value, "ok": ok})
    return results


def main():
    results = compare(sys.argv[1], sys.argv[2], *sys.argv[3:4])
    ok = sum(r["ok"] for r in results)
    print(f"{ok} of {len(results)} reference values matched")
    for r in results:
        if not r["ok"]:
            print(f"  MISMATCH {r['family'][:28]:28s} {r['feature'][:40]:40s} {r['aggregation']:22s}"
                  f" ref {r['reference']:<10g} got {r['value']:.6g} ({r['column']})")
    return 0 if ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
