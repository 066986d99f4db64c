#!/usr/bin/env python3
"""Extracts IBSI reference values (every data set: digital phantom, CT configurations A-E) from
the IBSI manual's feature chapter (reStructuredText) into a CSV like
reference_values_digital_phantom.csv.

usage: ibsi_reference_from_docs.py ibsi-doc_03_Image_features.rst OUT.csv
"""
import csv
import re
import sys

MATH = re.compile(r":math:`([^`]*)`")


def number(text):
    text = text.strip().replace(":math:`-`\\ ", "-").replace(":math:`-`", "-")
    m = MATH.search(text)
    if m:
        text = m.group(1).replace(" ", "")
        m2 = re.fullmatch(r"(-?[\d.]+)\\times10\^\{(-?\d+)\}", text)
        if m2:
            return f"{m2.group(1)}e{m2.group(2)}"
        text = text.replace("{", "").replace("}", "")
    text = text.replace("−", "-").replace("—", "").replace("–", "-")
    return text


def main():
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
    rows = []
    family = feature = code = ""
    for k, line in enumerate(lines):
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if nxt and set(nxt.strip()) == {"-"} and len(nxt.strip()) >= len(line.strip()) > 0:
            if line.strip().endswith("features") and not line.startswith("Aggregating"):
                family = line.strip()
        if nxt and set(nxt.strip()) == {"^"} and line.strip():
            feature, code = line.strip(), ""
        m = re.search(r">([0-9A-Z]{4})</p>", line)
        if m and feature:
            code = code or m.group(1)
        if feature == "Small zone emphasis" and not code:
            code = "5QRC"  # the manual's chapter omits it
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.strip().startswith("|") else []
        if not cells or not code or cells[0].startswith("**"):
            continue
        if cells[0] not in ("dig. phantom",) and not cells[0].startswith("config."):
            continue
        if len(cells) == 5:
            data, aggregation, value, tolerance, consensus = cells
        elif len(cells) == 4:
            data, value, tolerance, consensus = cells
            aggregation = ""
        else:
            continue
        if not number(value):
            continue  # the manual gives no value here
        rows.append([family, feature, code, data, aggregation, number(value), number(tolerance),
                     consensus])
    with open(sys.argv[2], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "feature", "ibsi_code", "data", "aggregation", "value", "tolerance",
                    "consensus"])
        w.writerows(rows)
    print(f"{len(rows)} rows")


if __name__ == "__main__":
    main()
