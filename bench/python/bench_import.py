"""Cost of ``import cortiauth`` in a fresh interpreter: wall time and RSS growth
(the goal: at most 15 ms and 4 MiB; ``asyncio`` is not imported until an async
method needs it).

    python bench/bench_import.py [--runs N] [--json]

Each run starts a new interpreter that reads its own RSS (``/proc/self/statm``),
imports cortiauth between two ``perf_counter`` readings, and reads its RSS again;
the best and median of the runs are printed, with ``python -X importtime``'s
cumulative figure for the package from one more run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, os, sys, time
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
before = rss()
t0 = time.perf_counter()
import cortiauth
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1e3, "rss_kib": (rss() - before) / 1024,
                  "asyncio": "asyncio" in sys.modules}))
"""


def measure(runs: int = 11, python: str = sys.executable) -> dict[str, float]:
    """Best and median import time (ms) and RSS growth (KiB) over `runs` fresh interpreters."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [python, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
        )
        samples.append(json.loads(out.stdout))
    ms = [s["ms"] for s in samples]
    kib = [s["rss_kib"] for s in samples]
    return {
        "import_ms_best": min(ms),
        "import_ms_median": statistics.median(ms),
        "rss_kib_best": min(kib),
        "rss_kib_median": statistics.median(kib),
        "asyncio_imported": any(s["asyncio"] for s in samples),
    }


def importtime_us(python: str = sys.executable) -> int:
    """`python -X importtime`'s cumulative microseconds for `cortiauth`."""
    out = subprocess.run(
        [python, "-X", "importtime", "-c", "import cortiauth"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for line in out.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == "cortiauth":
            return int(parts[1])
    raise RuntimeError("cortiauth not in -X importtime output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.runs)
    result["importtime_cumulative_ms"] = importtime_us() / 1000
    if args.json:
        print(json.dumps(result))
        return
    print(f"import cortiauth, {args.runs} fresh interpreters ({sys.version.split()[0]}):")
    print(f"  wall time    best {result['import_ms_best']:.2f} ms, "
          f"median {result['import_ms_median']:.2f} ms   (limit 15 ms)")
    print(f"  RSS growth   best {result['rss_kib_best'] / 1024:.2f} MiB, "
          f"median {result['rss_kib_median'] / 1024:.2f} MiB   (limit 4 MiB)")
    print(f"  -X importtime cumulative {result['importtime_cumulative_ms']:.2f} ms")
    print(f"  asyncio imported: {result['asyncio_imported']}")


if __name__ == "__main__":
    main()
