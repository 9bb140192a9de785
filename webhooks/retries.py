"""When a failed delivery is tried again.

The first attempt goes out at once; after the n-th failure the next waits the n-th delay
of the schedule, stretched or shrunk at random by up to a fifth so that the retries of many
deliveries that failed together (a receiver's outage) do not all arrive in one burst. When
the schedule is used up the delivery is given up (a dead letter, which ``replay`` re-sends).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

#: About four days of retries, most of them in the first hours (a receiver's deploy or
#: short outage), then one a day.
DEFAULT_DELAYS: tuple[float, ...] = (
    5,
    30,
    120,
    600,
    1800,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    24 * 3600,
    24 * 3600,
    24 * 3600,
)
JITTER = 0.2


def next_delay(delays: Sequence[float], failures: int, rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after ``failures`` failed attempts in a row, or
    ``None`` when the schedule is used up."""
    if failures < 1 or failures > len(delays):
        return None
    jitter = 1 + JITTER * (2 * (rng or random).random() - 1)
    return float(delays[failures - 1]) * jitter
