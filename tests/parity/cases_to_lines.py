#!/usr/bin/env python3
"""Converts tests/parity/cases.json into the line format tests/parity/run_c.c reads
on stdin (described at the top of run_c.c):

    name<TAB>CASE-NAME
    KEY<TAB>VALUE          (scopes joined by spaces; one extra_params line per
    ...                     pair, NAME<TAB>VALUE; one ca_certificates line per file)
    ---

Usage: cases_to_lines.py cases.json > cases.txt"""
import json
import sys


def text(key, value):
    value = str(value)
    if "\t" in value or "\n" in value or "\r" in value:
        raise SystemExit(f"cases_to_lines.py: {key}: a TAB or newline cannot be passed to run_c")
    return value


def lines(case):
    yield f"name\t{text('name', case['name'])}"
    for key, value in case["settings"].items():
        if key == "scopes":
            yield f"scopes\t{' '.join(text(key, s) for s in value)}"
        elif key == "extra_params":
            for name, val in value:
                yield f"extra_params\t{text(key, name)}\t{text(key, val)}"
        elif key == "ca_certificates":
            for path in value:
                yield f"ca_certificates\t{text(key, path)}"
        elif isinstance(value, bool):
            yield f"{key}\t{'true' if value else 'false'}"
        elif isinstance(value, (dict, list)) or value is None:
            raise SystemExit(f"cases_to_lines.py: {key}: unsupported value {value!r}")
        else:
            yield f"{key}\t{text(key, value)}"
    yield "---"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        for case in json.load(f):
            for line in lines(case):
                print(line)


if __name__ == "__main__":
    main()
