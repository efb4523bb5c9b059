"""The one clock of the application: a callable returning an aware UTC datetime.

Built once in the runtime and passed down; every turn reads it once and hands that instant to
the dialog and to storage, which have no clock of their own. Tests pass a clock they move.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
