"""The warehouse as Parquet, for engines bigger than one machine (Spark, Trino, BigQuery,
DuckDB itself): every fact partitioned by year and month of its business date
(``<table>/year=2026/month=3/data_0.parquet``, Hive style), every dimension as one file
(``<table>.parquet``). One read transaction, so all files show the same moment.

An export owns its folder and touches nothing else: it is written whole into a new folder
beside the target and swapped in with one rename, and it is marked (``.eventcrm-export``)
so that the next export knows the folder is its own to replace.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from projections.olap import schema

#: The file that marks a folder as an export of eventcrm, and what it wrote there.
MARKER = ".eventcrm-export"
KIND = "parquet"


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    path: Path
    partitioned: bool


class ExportRefused(Exception):
    """The target is not the export's to write: nothing was touched."""


def export_parquet(conn: Any, directory: Path | str) -> list[Exported]:
    """Writes every fact and dimension as a new export at ``directory``, replacing an earlier
    Parquet export there as a whole. ``conn`` may be read-only.

    Raises ``ExportRefused``, before anything is written, when ``directory`` is a symbolic
    link, a file, or a non-empty folder that is not an earlier export (or holds entries no
    export wrote). A crash or an error leaves the earlier export or the new one at
    ``directory``, never a mix; only a half-written folder beside it may remain after a crash."""
    target = Path(os.path.abspath(directory))
    earlier = _earlier_export(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = _new_folder_beside(target)
    leftover: Path | None = staging  # until the swap, the unfinished export
    try:
        done = _write_tables(conn, staging)
        _mark(staging, [d.path.name for d in done])
        _keep_mode(staging, target)
        _sync_tree(staging)
        leftover = _swap_in(staging, target, replacing=earlier)
    finally:
        if leftover is not None:
            shutil.rmtree(leftover, ignore_errors=True)
    _sync_folder(target.parent)
    return [Exported(d.table, d.rows, target / d.path.name, d.partitioned) for d in done]


def _earlier_export(target: Path) -> bool:
    """Whether ``target`` holds an earlier export (False: nothing, or an empty folder);
    refuses anything else. Symbolic links are refused, never followed."""
    try:
        info = target.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise ExportRefused(
            f"{target} is a symbolic link; give the folder itself (an export never writes through a link)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise ExportRefused(f"{target} is not a folder")
    present = set(os.listdir(target))
    if not present:
        return False
    written = _marked_entries(target / MARKER)
    if written is None:
        raise ExportRefused(
            f"{target} is not empty and is not a Parquet export of eventcrm (no {MARKER} in it); "
            "an export replaces only what an export wrote: choose a new or empty folder"
        )
    foreign = present - written - {MARKER}
    if foreign:
        raise ExportRefused(
            f"{target} is an earlier export but also holds {', '.join(sorted(foreign))}, which no export "
            "wrote; move it away first (an export replaces only what an export wrote)"
        )
    return True


def _marked_entries(marker: Path) -> set[str] | None:
    """The entries an earlier export wrote, from its marker; None if there is no valid marker
    of a Parquet export (a link is no marker: anyone could point it anywhere)."""
    try:
        if not stat.S_ISREG(marker.lstat().st_mode):
            return None
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("kind") != KIND:
        return None
    entries = content.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return None
    return set(entries)


def _new_folder_beside(target: Path) -> Path:
    """A new, empty folder in the target's parent: the same file system, so the swap is one
    rename. ``mkdir`` fails on any existing name, a link included, so it is ours alone."""
    while True:
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate


def _write_tables(conn: Any, folder: Path) -> list[Exported]:
    facts = [("events", schema.EVENTS_PARTITION_BY), *((t.name, t.partition_by or "NULL") for t in schema.FACTS)]
    done: list[Exported] = []
    conn.execute("BEGIN TRANSACTION")
    try:
        for name, column in facts:
            path = folder / name
            rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            # Hive partitions by the business date's year and month; a row without one goes
            # to year=NULL/month=NULL.
            partitioned = f"SELECT *, year({column}) AS year, month({column}) AS month FROM {name}"
            if rows:
                conn.execute(
                    f"COPY ({partitioned}) TO '{_sql_path(path)}' (FORMAT parquet, PARTITION_BY (year, month))"
                )
            else:
                # No partition to write: one empty file, so that a reader still finds the
                # table's columns (and the partition columns) in the folder.
                path.mkdir()
                conn.execute(f"COPY ({partitioned}) TO '{_sql_path(path / 'empty.parquet')}' (FORMAT parquet)")
            done.append(Exported(name, rows, path, True))
        for table in schema.DIMENSIONS:
            path = folder / f"{table.name}.parquet"
            rows = conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]
            conn.execute(f"COPY {table.name} TO '{_sql_path(path)}' (FORMAT parquet)")
            done.append(Exported(table.name, rows, path, False))
    finally:
        conn.execute("COMMIT")
    return done


def _mark(folder: Path, entries: list[str]) -> None:
    marker = {"kind": KIND, "exported_at": datetime.now(UTC).isoformat(), "entries": sorted(entries)}
    with open(folder / MARKER, "x", encoding="utf-8") as out:
        json.dump(marker, out, indent=2)
        out.write("\n")


def _keep_mode(staging: Path, target: Path) -> None:
    """A replaced folder keeps its permissions: the user chose them."""
    try:
        os.chmod(staging, stat.S_IMODE(target.lstat().st_mode))
    except FileNotFoundError:
        pass


def _sync_tree(folder: Path) -> None:
    """Every file and folder on disk before the swap, so that a power cut after it never
    leaves a marked export with empty files."""
    for parent, _, files in os.walk(folder):
        for name in files:
            _fsync(os.path.join(parent, name), os.O_RDONLY | os.O_NOFOLLOW)
        _sync_folder(Path(parent))


def _sync_folder(folder: Path) -> None:
    _fsync(str(folder), os.O_RDONLY | os.O_DIRECTORY)


def _fsync(path: str, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_in(staging: Path, target: Path, replacing: bool) -> Path | None:
    """Puts ``staging`` at ``target``; answers where the earlier export went (to be removed),
    if there was one. Renames never follow links: a link put at ``target`` since the check
    makes the rename fail or is itself what moves, never what it points to."""
    if not replacing:
        # Onto nothing or onto an empty folder: one atomic rename; if something was put
        # there since the check, it fails and leaves it alone.
        os.rename(staging, target)
        return None
    try:
        _exchange(staging, target)
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise
        return _swap_in_two_steps(staging, target)
    return staging


def _exchange(a: Path, b: Path) -> None:
    """Swaps two paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``), so a
    reader or a crash sees the earlier export or the new one at ``b``, never neither."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) if sys.platform == "linux" else None
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


def _swap_in_two_steps(staging: Path, target: Path) -> Path:
    """Where no file system call swaps two folders: the earlier export steps aside, then the
    new one moves in. A crash between the two leaves both beside an absent target, never a
    mix; an error puts the earlier one back."""
    aside = _new_folder_beside(target)
    os.rename(target, aside)  # onto the empty folder just made
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(aside, target)
        raise
    return aside


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
