"""The worker's one asyncio event loop, and how calls run on it.

Calls come from several C++ threads (control thread: create/load/unload; inference thread:
predict), each holding the GIL. A lock makes one thread at a time drive the loop, so a predict
that awaits never meets a load already running the loop. The loop runs only while a call is in
progress: background tasks a runtime starts advance during later calls.

Fast path (predict only): a coroutine is first stepped by hand with the loop set as the running
loop (asyncio.get_running_loop, create_task work); if it finishes without suspending, that is the
answer (~2 µs instead of ~30 µs for run_until_complete). If it suspends, the rest runs in a real
Task on the loop. Before its first suspension such a coroutine has no current Task, which
`asyncio.timeout()` (3.11+) needs: set RINGSERVE_ASYNCIO_TASKS=1 to always run predicts as Tasks."""
import asyncio
import inspect
import os
import threading
import types

_loop = None
_lock = threading.Lock()
_always_tasks = os.environ.get("RINGSERVE_ASYNCIO_TASKS") == "1"
_Coroutine = types.CoroutineType
_set_running_loop = asyncio.events._set_running_loop


def loop():
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    return _loop


async def _finish(coro, yielded):
    """Drives an already-started coroutine to its end inside a Task on the loop."""
    while True:
        if yielded is None:
            await asyncio.sleep(0)
        else:
            yielded._asyncio_future_blocking = False
            waiter = loop().create_future()
            yielded.add_done_callback(lambda _f: waiter.done() or waiter.set_result(None))
            await waiter
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value


def run(value, fast=False):
    """The result of `value` (a plain value, or an awaitable run on the worker's loop)."""
    if fast and type(value) is _Coroutine and not _always_tasks:
        # predict's path, checked first: inspect.isawaitable/iscoroutine cost ~1 µs per call
        with _lock:
            lp = _loop or loop()
            _set_running_loop(lp)
            try:
                yielded = value.send(None)
            except StopIteration as stop:
                return stop.value
            finally:
                _set_running_loop(None)
            return lp.run_until_complete(_finish(value, yielded))
    if not inspect.isawaitable(value):
        return value
    with _lock:
        return loop().run_until_complete(value)
