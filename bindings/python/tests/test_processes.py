"""A manager works after os.fork() and with multiprocessing (fork and spawn):
the core rebuilds its HTTP client in a forked child."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

import pytest

import _workers

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads, 3.12+


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_os_fork_child_uses_the_parents_manager(servers):
    m = servers.kc_corti.manager()
    parent_token = m.get_access_token()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        status = 1
        try:
            os.close(r)
            signal.alarm(30)  # a hung child must not hang the suite
            out = {"cached": m.get_access_token(), "dropped": m.invalidate(parent_token)}
            out["token"] = m.get_access_token()
            out["stats"] = m.stats()
            os.write(w, json.dumps(out).encode())
            status = 0
        except BaseException as e:
            os.write(w, json.dumps({"error": repr(e)}).encode())
        finally:
            os._exit(status)
    os.close(w)
    data = read_all(r)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    out = json.loads(data)
    assert "error" not in out, out
    assert os.waitstatus_to_exitcode(status) == 0
    assert out["cached"] == parent_token  # the cache came along
    assert out["dropped"] is True
    assert out["token"] != parent_token  # fetched in the child, with a new HTTP client
    assert out["stats"]["token_requests"] == 2
    assert servers.accepts(servers.kc_corti, out["token"])
    # The parent is unaffected by what the child did.
    assert m.get_access_token() == parent_token
    assert m.stats()["token_requests"] == 1


def test_multiprocessing_fork(servers):
    m = servers.kc_corti.manager()
    stale = m.get_access_token()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_workers.new_token_in_child, args=(m, stale, queue))
    p.start()
    out = queue.get(timeout=60)
    p.join(30)
    assert "error" not in out, out
    assert p.exitcode == 0
    assert out["cached"] == stale
    assert out["dropped"] is True
    assert out["token"] != stale
    assert servers.accepts(servers.kc_corti, out["token"])


def test_multiprocessing_spawn(servers, monkeypatch):
    for k, v in servers.kc_corti.env().items():
        monkeypatch.setenv(k, v)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_workers.token_from_env, args=(queue,)) for _ in range(2)]
    for p in procs:
        p.start()
    outs = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for out in outs:
        assert "error" not in out, out
        assert out["stats"]["token_requests"] == 1
        assert servers.accepts(servers.kc_corti, out["token"])
    assert outs[0]["token"] != outs[1]["token"]  # one manager per process
