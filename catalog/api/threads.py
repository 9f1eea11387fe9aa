"""Where the API's blocking work (queries, file reads) runs: a pool of threads, reached from the
event loop through asyncio's own hand-off, which costs a request less than the general-purpose
one (for a row looked up by key, that hand-off had cost about as much as the query itself)."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

MAX_THREADS = 40  # requests doing blocking work at once; the rest wait their turn

_pool = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="govcat-api")


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` on one of the pool's threads; its result, or its exception."""
    return await asyncio.get_running_loop().run_in_executor(_pool, functools.partial(function, *args))
