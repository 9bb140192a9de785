"""Pure: the stored state of one aggregate and a batch's patches for it in, the rows to
store out. A patch whose sequence is not newer than the state's is a replay and changes
nothing, so applying a batch twice gives the same rows as applying it once.

- ``deals``, ``cases``, ``dim_account``, ``dim_campaign``: one row per aggregate,
  overwritten with the patches' values (plus a few derived columns).
- ``dim_pipeline_stage``: one row per stage of the pipeline, from the full stage list each
  pipeline event carries, with the implied won and lost last.
- ``dim_contact``: a slowly changing dimension of type 2: a patch that changes the
  lifecycle stage, the owner, the score band or the status closes the current version
  (``valid_to``) and starts a new one at the patch's business time (never before the
  version it replaces starts, so versions never overlap); other values (account, consent)
  overwrite the current version.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.olap.rows import Patch

Row = dict[str, Any]

#: dim_contact attributes whose change starts a new version.
TRACKED = ("lifecycle_stage", "owner", "score_band", "status")


def _newer(patches: Sequence[Patch], applied: int) -> list[Patch]:
    """The patches not applied yet, in aggregate order (one per sequence)."""
    seen: dict[int, Patch] = {}
    for patch in patches:
        if patch.sequence > applied:
            seen.setdefault(patch.sequence, patch)
    return [seen[s] for s in sorted(seen)]


def merge_row(table: str, key_column: str, key: str, current: Row | None, patches: Sequence[Patch]) -> Row | None:
    """deals, cases, dim_account, dim_campaign. None when nothing is newer."""
    todo = _newer(patches, current["sequence"] if current else 0)
    if not todo:
        return None
    row: Row = dict(current) if current else {key_column: key}
    for patch in todo:
        row.update(patch.values)
        row["sequence"] = patch.sequence
        if table in _WITH_UPDATED_AT:
            row["updated_at"] = patch.recorded_at
    derive = _DERIVE.get(table)
    if derive is not None:
        derive(row)
    return row


def _derive_deal(row: Row) -> None:
    won_at, created_at = row.get("won_at"), row.get("created_at")
    row["seconds_to_close"] = (won_at - created_at).total_seconds() if won_at and created_at else None


def _derive_case(row: Row) -> None:
    row["breaches"] = int(bool(row.get("first_response_breached"))) + int(bool(row.get("resolution_breached")))


_DERIVE = {"deals": _derive_deal, "cases": _derive_case}
_WITH_UPDATED_AT = frozenset({"deals", "cases"})


def merge_pipeline(pipeline_id: str, current: Row | None, patches: Sequence[Patch]) -> list[Row]:
    """``current``: ``{"pipeline_name", "sequence"}`` of the stored rows (None: none yet).
    Answers every stage row of the pipeline (stages are never removed, so these rows
    replace all the stored ones), or nothing when no patch is newer."""
    todo = _newer(patches, current["sequence"] if current else 0)
    if not todo:
        return []
    name = current.get("pipeline_name") if current else None
    stages: list[Row] = []
    for patch in todo:
        name = patch.values.get("pipeline_name", name)
        stages = patch.values["stages"]
    sequence = todo[-1].sequence
    rows = [
        {
            "pipeline_id": pipeline_id,
            "stage_key": stage["key"],
            "pipeline_name": name,
            "stage_name": stage["name"],
            "stage_order": order,
            "probability": stage["probability"],
            "is_terminal": False,
            "sequence": sequence,
        }
        for order, stage in enumerate(stages, start=1)
    ]
    for offset, (key, label, probability) in enumerate((("won", "Won", 1.0), ("lost", "Lost", 0.0)), start=1):
        rows.append(
            {
                "pipeline_id": pipeline_id,
                "stage_key": key,
                "pipeline_name": name,
                "stage_name": label,
                "stage_order": len(stages) + offset,
                "probability": probability,
                "is_terminal": True,
                "sequence": sequence,
            }
        )
    return rows


def merge_contact(contact_id: str, current: Row | None, patches: Sequence[Patch]) -> list[Row]:
    """``current``: the contact's current dim_contact version (None: none yet). Answers the
    rows to store: the current version changed (closed, or updated in place) and any new
    versions; nothing when no patch is newer."""
    todo = _newer(patches, current["last_sequence"] if current else 0)
    if not todo:
        return []
    out: dict[int, Row] = {}
    version: Row | None = dict(current) if current else None
    for patch in todo:
        if version is None:
            version = {
                "contact_id": contact_id,
                "version": 1,
                "valid_from": patch.at,
                "valid_to": None,
                "is_current": True,
                "lifecycle_stage": None,
                "owner": None,
                "score_band": None,
                "status": "active",
                "account_id": None,
                "consented": False,
                "created_at": patch.values.get("created_at", patch.at),
                "from_sequence": patch.sequence,
                **patch.values,
            }
        elif any(name in TRACKED and version.get(name) != value for name, value in patch.values.items()):
            starts = max(patch.at, version["valid_from"])
            out[version["version"]] = {**version, "valid_to": starts, "is_current": False}
            version = {
                **version,
                **patch.values,
                "version": version["version"] + 1,
                "valid_from": starts,
                "valid_to": None,
                "is_current": True,
                "from_sequence": patch.sequence,
            }
        else:
            version = {**version, **patch.values}
        version["last_sequence"] = patch.sequence
    assert version is not None
    out[version["version"]] = version
    return list(out.values())
