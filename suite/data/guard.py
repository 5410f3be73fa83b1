"""The test split is for the harness's final accuracy only: methods must never read it.

While a method runs, the harness enters `forbid_test_access()`; reading `DatasetSplits.test`
then raises TestSplitAccessError (and the run is recorded as failed with that reason).
"""
from __future__ import annotations

import contextlib
import contextvars

from suite.errors import TestSplitAccessError

_forbidden: contextvars.ContextVar[str | None] = contextvars.ContextVar("slimbench_test_forbidden", default=None)


@contextlib.contextmanager
def forbid_test_access(who: str):
    token = _forbidden.set(who)
    try:
        yield
    finally:
        _forbidden.reset(token)


def check_test_access(dataset: str) -> None:
    who = _forbidden.get()
    if who is not None:
        raise TestSplitAccessError(
            f"{who} tried to read the test split of {dataset!r}; methods get only the train, "
            f"validation and calibration splits (the test split is read by the harness alone)"
        )
