#!/usr/bin/env python3
"""Checks that Python and Node describe each shared member with the same one-liner.

The one-liners are written once, in docs/api/one-liners.toml. For each member the
first sentence of its docs must be that text in three places: the Python binding's
Rust source (what `help()` shows), `_native.pyi` (what editors show; the whole docstring,
the same as the Rust source's) and the JSDoc of `index.d.ts`. No network, no build: it reads the sources.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY_SRC = {
    "TokenManager": ROOT / "bindings/python/src/manager.rs",
    "Token": ROOT / "bindings/python/src/token.rs",
    "module": ROOT / "bindings/python/src/lib.rs",
}
PYI = ROOT / "bindings/python/python/cortiauth/_native.pyi"
DTS = ROOT / "bindings/node/index.d.ts"


def first_sentence(text: str) -> str:
    text = " ".join(text.split()).replace("``", "`")
    match = re.search(r"\.(\s|$)", text)
    return text[: match.start() + 1] if match else text


def render(doc: str, lang: str, table: dict[str, dict[str, str]]) -> str:
    words = {"none": "`None`" if lang == "python" else "`null`",
             "true": "`True`" if lang == "python" else "`true`"}
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key in words:
            return words[key]
        if key.startswith("name:"):
            return f"{table[key[5:]][lang]}()"
        return m.group(0)  # `{environment}` and the like are literal
    return re.sub(r"\{([a-z_:]+)\}", sub, doc)


def rust_docs(path: Path, name: str) -> str | None:
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"\s*(pub )?fn {re.escape(name)}[<(]", line):
            doc: list[str] = []
            j = i - 1
            while j >= 0 and (lines[j].strip().startswith("///") or lines[j].strip().startswith("#[")):
                if lines[j].strip().startswith("///"):
                    doc.insert(0, lines[j].strip()[3:].strip())
                j -= 1
            return " ".join(doc) if doc else None
    return None


def pyi_docs(text: str, cls: str, name: str) -> str | None:
    if cls == "module":
        body = text
    else:
        start = re.search(rf"^class {cls}\b.*$", text, re.M)
        if not start:
            return None
        end = re.search(r"^\S", text[start.end():], re.M)
        body = text[start.end(): start.end() + end.start()] if end else text[start.end():]
    pattern = rf"def {re.escape(name)}\((?:.|\n)*?\).*?:\s*\n?\s*\"\"\"((?:.|\n)*?)\"\"\""
    if cls == "module":
        pattern = "^" + pattern
    m = re.search(pattern, body, re.M)
    return m.group(1) if m else None


def dts_docs(text: str, cls: str, name: str) -> str | None:
    if cls == "module":
        body = text
        member = rf"export declare function {re.escape(name)}\b"
    else:
        start = re.search(rf"^export declare class {cls}\b.*$", text, re.M)
        if not start:
            return None
        end = re.search(r"^\}", text[start.end():], re.M)
        body = text[start.end(): start.end() + end.start()]
        member = rf"(?:static |readonly )?{re.escape(name)}[(:?]"
    m = re.search(rf"/\*\*((?:(?!\*/).|\n)*?)\*/\s*\n\s*{member}", body)
    if not m:
        return None
    return " ".join(l.strip().lstrip("*").strip() for l in m.group(1).splitlines())


def main() -> int:
    table_list = tomllib.loads((ROOT / "docs/api/one-liners.toml").read_text())["member"]
    table = {m["python"]: m for m in table_list}
    pyi, dts = PYI.read_text(), DTS.read_text()
    failures = []
    for m in table_list:
        cls = m["class"]
        found = {
            f"{PY_SRC[cls].relative_to(ROOT)} `{m['python']}`": (rust_docs(PY_SRC[cls], m["python"]), "python"),
            f"{PYI.relative_to(ROOT)} `{m['python']}`": (pyi_docs(pyi, cls, m["python"]), "python"),
            f"{DTS.relative_to(ROOT)} `{m['node']}`": (dts_docs(dts, cls, m["node"]), "node"),
        }
        # The stub carries the whole docstring help() shows, not only its first sentence.
        rust, stub = (d for d, _ in list(found.values())[:2])
        if rust and stub and " ".join(rust.split()) != " ".join(stub.split()):
            failures.append(f"{PYI.relative_to(ROOT)} `{m['python']}`: the docstring differs from "
                            f"{PY_SRC[cls].relative_to(ROOT)}'s (copy it whole)")
        for where, (doc, lang) in found.items():
            want = render(m["doc"], lang, table)
            if doc is None:
                failures.append(f"{where}: no docs found; want: {want}")
            elif first_sentence(doc) != want:
                failures.append(f"{where}:\n    has:  {first_sentence(doc)}\n    want: {want}")
    for f in failures:
        print(f"check-api-docs: {f}", file=sys.stderr)
    if failures:
        return 1
    print(f"check-api-docs: {len(table_list)} one-liners, the same in Python (help, .pyi) and Node (.d.ts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
