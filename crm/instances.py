"""A stable name for each consumer process on a host, for Kafka's static membership.

A projector restarted after a crash must come back under the name it had, so the group
hands its partitions straight back instead of waiting out the dead member's session. The
name is the host's and a slot number: the first slot whose lock file no live process of
this host holds. A crashed process's lock dies with it, so its successor takes its slot;
two live processes never share one.
"""

from __future__ import annotations

import fcntl
import re
import socket
from pathlib import Path
from typing import IO


class InstanceSlots:
    def __init__(self, directory: Path, host: str | None = None) -> None:
        self._directory = directory
        self._host = host or socket.gethostname()
        self._held: dict[str, tuple[str, IO[str]]] = {}

    def instance_id(self, group: str) -> str:
        """This process's name in ``group``: the same for the life of the process."""
        held = self._held.get(group)
        if held is not None:
            return held[0]
        self._directory.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", group)
        for slot in range(10_000):
            handle = (self._directory / f"{safe}.{slot}.lock").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            name = f"{self._host}-{slot}"
            self._held[group] = (name, handle)
            return name
        raise RuntimeError(f"no free consumer slot for {group} under {self._directory}")

    def close(self) -> None:
        for _, handle in self._held.values():
            handle.close()
        self._held.clear()
