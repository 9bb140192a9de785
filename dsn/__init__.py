"""Database URLs, read in one place: ``sqlite:///path/file.sqlite`` (or the relative
``sqlite://path/file.sqlite``) and ``postgresql://user:pass@host:port/db``.

The event store, the operational read model and the readiness probe all take such URLs;
each turns the parsed form into what its driver wants. Imports nothing of the project, so
every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class DatabaseUrl:
    kind: Literal["sqlite", "postgresql"]
    #: SQLite: the file.
    path: Path | None = None
    #: PostgreSQL: where and as whom.
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = "crm"
    #: PostgreSQL: connection parameters after ``?`` (``sslmode=verify-full``), as given.
    query: str = ""

    def __repr__(self) -> str:  # never the password
        if self.kind == "sqlite":
            return f"DatabaseUrl(sqlite:///{self.path})"
        return f"DatabaseUrl(postgresql://{self.user}@{self.host}:{self.port}/{self.dbname})"


def parse(url: str, what: str = "database URL") -> DatabaseUrl:
    """Raises ``ValueError`` naming ``what`` for anything but the two forms above."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"{what} names no file")
        return DatabaseUrl("sqlite", path=Path(path))
    if parts.scheme in ("postgresql", "postgres"):
        return DatabaseUrl(
            "postgresql",
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            dbname=parts.path.lstrip("/") or "crm",
            query=parts.query,
        )
    raise ValueError(f"{what} must start with sqlite:// or postgresql://, got {parts.scheme or 'no scheme'}")
