"""`import cortiauth` is cheap: asyncio (and typing) are not
imported until used; bench/python/bench_import.py's figures stay within the limits."""

from __future__ import annotations

import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parents[3] / "bench" / "python"


def test_import_does_not_import_asyncio():
    code = (
        "import sys, cortiauth\n"
        "print('asyncio' in sys.modules, 'typing' in sys.modules)\n"
        "cortiauth.Stats, cortiauth.Settings\n"  # the lazily loaded names still resolve
        "print('typing' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out == ["False", "False", "True"]


def test_import_time_and_memory_within_limits():
    sys.path.insert(0, str(BENCH))
    try:
        import bench_import
    finally:
        sys.path.remove(str(BENCH))
    result = bench_import.measure(runs=7)
    assert not result["asyncio_imported"]
    # Best of 7 fresh interpreters: the machine's noise only ever adds time.
    assert result["import_ms_best"] <= 15, result
    assert result["rss_kib_best"] <= 4 * 1024, result
