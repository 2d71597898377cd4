"""Named instants for tests that pin the clock (time_machine), in the business's time zone.

Europe/Madrid moves its clocks twice a year; a test about dates picks an instant next to
one of those changes on purpose, so that "a day" of 23 or 25 hours is part of the case.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MADRID = ZoneInfo("Europe/Madrid")

# 30 March 2025: at 02:00 the clocks jumped to 03:00 (CET +01:00 -> CEST +02:00); that
# day had 23 hours. Noon, so "yesterday" is on the other side of the change.
SPRING_FORWARD = datetime(2025, 3, 30, 12, 0, tzinfo=MADRID)
# 26 October 2025: at 03:00 the clocks went back to 02:00 (CEST -> CET); 25 hours.
FALL_BACK = datetime(2025, 10, 26, 12, 0, tzinfo=MADRID)
# A Wednesday in June, far from any change: for tests where the date is incidental.
MIDSUMMER = datetime(2025, 6, 11, 12, 0, tzinfo=MADRID)
