"""Shared by the benchmarks: a throw-away PostgreSQL database, timing, and the table in
docs/BENCHMARKS.md that each benchmark keeps up to date (one section each)."""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg

ADMIN_DSN = os.environ.get("CRM_BENCH_POSTGRES", "postgresql://crm:crm@127.0.0.1:5432/crm")
BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"crm_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def timed(run: Callable[[], int]) -> tuple[int, float]:
    """Runs ``run`` (which answers how many operations it did); answers (count, seconds)."""
    started = time.perf_counter()
    count = run()
    return count, time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_section(title: str, body: str) -> None:
    """Replaces the section ``## title`` of docs/BENCHMARKS.md (or appends it)."""
    text = (
        BENCHMARKS_MD.read_text()
        if BENCHMARKS_MD.exists()
        else (
            "# Benchmarks\n\nMeasured by `make bench` on the project's machine (2 cores, 24 GB, shared "
            "and noisy). Every figure is reported against a baseline measured in the same run.\n"
        )
    )
    section = f"## {title}\n\n_Run on {date.today().isoformat()}._\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    BENCHMARKS_MD.write_text(text.rstrip() + "\n")
