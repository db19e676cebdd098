"""Suite-wide rules: an exception that reaches the event loop's handler fails the test."""
import asyncio

import pytest

_loop_errors: list[dict] = []


@pytest.fixture(autouse=True)
async def _no_loop_errors():
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: _loop_errors.append(ctx))
    yield
    errors, _loop_errors[:] = list(_loop_errors), []
    assert not errors, f"exceptions reached the event loop: {errors}"

