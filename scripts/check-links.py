#!/usr/bin/env python3
"""Every link in the project's Markdown files resolves: relative links (and links to
this repository on GitHub, https://github.com/cortiauth/cortiauth/blob/main/PATH, which
the package pages on PyPI, npm and crates.io use) must name a file or directory that
exists, and a #fragment a heading of that file. Other http(s) links are not followed
(no network beyond loopback in tests). Run by scripts/lint.sh; exits 1 on a dead link.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GITHUB = "https://github.com/cortiauth/cortiauth/blob/main/"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        s = slug(line.lstrip("#"))
        n = seen.get(s, 0)
        seen[s] = n + 1
        found.add(s if n == 0 else f"{s}-{n}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    out = []
    in_code = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        out.extend((number, m.group(1)) for m in LINK.finditer(line))
    return out


def main() -> int:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()
    dead = checked = 0
    for name in files:
        path = ROOT / name
        if not path.exists() or "node_modules" in path.parts:
            continue
        for number, target in links(path):
            if target.startswith(GITHUB):
                resolved_base = ROOT
                target = target[len(GITHUB):]
            elif re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # another site, mailto:: not followed
            else:
                resolved_base = path.parent
            file_part, _, fragment = target.partition("#")
            dest = (resolved_base / file_part).resolve() if file_part else path
            checked += 1
            if not dest.exists():
                print(f"{name}:{number}: dead link {target} (no {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})")
                dead += 1
            elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
                print(f"{name}:{number}: dead link {target} (no heading #{fragment} in {dest.relative_to(ROOT)})")
                dead += 1
    print(f"check-links: {checked} links in {len(files)} Markdown files, {dead} dead")
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
