"""Reads of the operational model, for the API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from projections.oltp import schema
from projections.oltp.contacts import COLUMNS
from projections.oltp.db import OltpDatabase


class ContactQueries:
    def __init__(self, db: OltpDatabase) -> None:
        self.db = db
        schema.ensure(db)

    def get(self, contact_id: str) -> dict[str, Any] | None:
        sql = f"SELECT {', '.join(COLUMNS)} FROM contacts WHERE id = {self.db.ph}"
        with self.db.reading() as conn:
            row = conn.execute(sql, (contact_id,)).fetchone()
        if row is None:
            return None
        contact = dict(zip(COLUMNS, row, strict=True))
        contact["id"] = str(contact["id"])
        contact["consented"] = bool(contact["consented"])
        contact["erased"] = bool(contact["erased"])
        if isinstance(contact["tags"], str):
            contact["tags"] = json.loads(contact["tags"])
        for column in ("created_at", "updated_at", "last_interaction_at"):
            if isinstance(contact[column], str):
                contact[column] = datetime.fromisoformat(contact[column])
        return contact
