"""Threads and asyncio tasks share one token request, and nobody blocks anybody:
the GIL is released during the network call and during the wait for another
thread's fetch, and the async variants never block the event loop."""

from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import cortiauth
from cortiauth import TimeoutError as CortiTimeoutError
from cortiauth import TokenManager

from conftest import token_step


def test_32_threads_one_request(servers):
    m = servers.kc_short.manager()
    barrier = threading.Barrier(32)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(m.get_access_token())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 32
    assert len(set(results)) == 1
    assert m.stats()["token_requests"] == 1


def test_gil_released_during_the_token_request(stub):
    # The stub holds the answer until a Python thread of this very process
    # releases it: that thread can only run if get_access_token() releases the
    # GIL while it waits for the answer (else the request times out).
    server = stub(token_step("in-process-token", hold=True))

    def release_once_received() -> None:
        assert server.wait(requests=1)
        server.release()

    releaser = threading.Thread(target=release_once_received)
    releaser.start()
    m = TokenManager("id", "secret", token_url=server.token_url, timeout=5, max_attempts=1)
    assert m.get_access_token() == "in-process-token"
    releaser.join(10)
    assert server.requests[0].form()["grant_type"] == "client_credentials"


def test_gil_released_while_waiting_for_another_threads_fetch(stub):
    """Thread A fetches; the main thread calls while A's request is open and must
    wait for it with the GIL released, else thread C (Python) could never let the
    server answer and both calls would time out."""
    waited = False
    for _attempt in range(5):
        server = stub(token_step("shared-token", hold=True))
        m = TokenManager("id", "secret", token_url=server.token_url, timeout=5, max_attempts=1)
        a_result: list[object] = []
        a = threading.Thread(target=lambda: a_result.append(m.get_access_token()))  # noqa: B023
        a.start()
        assert server.wait(requests=1)

        # C lets the server answer once the main thread is inside get_access_token():
        # the profiler hook below flags the moment just before the native call,
        # and C can only run after that if the call released the GIL.
        entered = [False]

        def release_when_entered() -> None:
            while not entered[0]:  # noqa: B023
                pass
            server.release()  # noqa: B023

        c = threading.Thread(target=release_when_entered)
        c.start()

        def profiler(frame, event, arg):
            if event == "c_call" and getattr(arg, "__name__", "") == "get_access_token":
                entered[0] = True  # noqa: B023

        sys.setprofile(profiler)
        try:
            token = m.get_access_token()
        finally:
            sys.setprofile(None)
        a.join(10)
        c.join(10)
        assert token == "shared-token"
        assert a_result == ["shared-token"]
        stats = m.stats()
        assert stats["token_requests"] == 1
        # No cache hit: the main thread got A's result by waiting for it.
        if stats["cache_hits"] == 0:
            waited = True
            break
    assert waited, "the main thread never had to wait for thread A's fetch"


def test_a_timeout_is_shared_by_all_waiters(black_hole):
    m = TokenManager("id", "secret", token_url=black_hole, timeout=0.5, max_attempts=1)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            m.get_access_token()
        except CortiTimeoutError as e:
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(errors) == 8
    assert m.stats()["token_requests"] == 1


def test_asyncio_gather_100_calls_one_request(servers):
    m = servers.kc_short.manager()

    async def main() -> list[str]:
        return await asyncio.gather(*(m.get_access_token_async() for _ in range(100)))

    tokens = asyncio.run(main())
    assert len(tokens) == 100
    assert len(set(tokens)) == 1
    assert m.stats()["token_requests"] == 1


def test_async_cached_token_needs_no_thread_hop(servers):
    m = servers.kc_corti.manager()
    token = m.get_access_token()
    # A coroutine that never suspends finishes on its first step.
    for coro, expected in [
        (m.get_access_token_async(), token),
        (m.headers_async(), {"Authorization": f"Bearer {token}", "Tenant-Name": "base"}),
        (m.websocket_url_async("wss://x.test/s"), f"wss://x.test/s?token=Bearer%20{token}"),
    ]:
        with pytest.raises(StopIteration) as done:
            coro.send(None)
        assert done.value.value == expected
    coro = m.get_token_async()
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value.access_token == token


def test_async_fetch_does_not_block_the_event_loop(stub):
    # The server answers only after the event loop has run 20 ticks of another
    # task while get_access_token_async() was waiting.
    server = stub(token_step("async-token", hold=True))
    m = TokenManager("id", "secret", token_url=server.token_url, timeout=15, max_attempts=1)

    async def main() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while ticks < 20:
                await asyncio.sleep(0.001)
                ticks += 1
            server.release()

        tick_task = asyncio.ensure_future(ticker())
        token = await m.get_access_token_async()
        await tick_task
        return token, ticks

    token, ticks = asyncio.run(main())
    assert token == "async-token"
    assert ticks == 20
    # The async variants of the other calls work through the same thread hop.
    m.invalidate("async-token")
    assert asyncio.run(m.headers_async())["Authorization"] == "Bearer async-token"


class CountingExecutor(ThreadPoolExecutor):
    """A default executor that counts the jobs it is given."""

    def __init__(self) -> None:
        super().__init__(max_workers=64)
        self.jobs = 0

    def submit(self, fn, /, *args, **kwargs):
        self.jobs += 1
        return super().submit(fn, *args, **kwargs)


def test_1000_async_callers_one_request_and_no_executor_thread(stub):
    """1,000 concurrent awaits on a cold manager cause one request,
    and the core's worker settles them through call_soon_threadsafe: the
    loop's default executor is never given a job and no Python thread starts."""
    server = stub(token_step("shared", hold=True))
    m = TokenManager("id", "secret", token_url=server.token_url, max_attempts=1)
    executor = CountingExecutor()

    async def main() -> tuple[list[str], set[str], int]:
        asyncio.get_running_loop().set_default_executor(executor)
        before = {t.name for t in threading.enumerate()}
        tasks = [asyncio.ensure_future(m.get_access_token_async()) for _ in range(1000)]
        await asyncio.sleep(0)  # every task has run up to its await (FIFO ready queue)
        assert all(not t.done() for t in tasks)
        server.release()
        tokens = await asyncio.gather(*tasks)
        started = {t.name for t in threading.enumerate() if t.name not in before}
        return tokens, started, executor.jobs

    tokens, started, jobs = asyncio.run(main())
    executor.shutdown()
    assert tokens == ["shared"] * 1000
    assert jobs == 0, "the default executor was used"
    assert started == set(), f"Python threads started: {started}"
    assert not any(isinstance(t, ThreadPoolExecutor) for t in threading.enumerate())
    assert len(server.requests) == 1
    assert m.stats()["token_requests"] == 1


def test_an_async_fetch_error_reaches_every_awaiting_task(stub):
    server = stub({"error": "invalid_client"})
    m = TokenManager("id", "secret", token_url=server.token_url, max_attempts=1)

    async def main() -> list[BaseException | str]:
        tasks = [asyncio.ensure_future(m.get_token_async()) for _ in range(20)]
        return await asyncio.gather(*tasks, return_exceptions=True)

    answers = asyncio.run(main())
    assert all(isinstance(a, cortiauth.OAuthError) for a in answers), answers
    assert {a.error for a in answers} == {"invalid_client"}
    assert len(server.requests) == 1


def test_a_cancelled_async_caller_does_not_cancel_the_others(stub):
    server = stub(token_step("t", hold=True))
    m = TokenManager("id", "secret", token_url=server.token_url, max_attempts=1)

    async def main() -> str:
        first = asyncio.ensure_future(m.get_access_token_async())
        second = asyncio.ensure_future(m.headers_async())
        await asyncio.sleep(0)
        first.cancel()
        server.release()
        headers = await second
        assert first.cancelled()
        return headers["Authorization"]

    assert asyncio.run(main()) == "Bearer t"
    assert len(server.requests) == 1
