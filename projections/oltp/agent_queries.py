"""Reads of support agents: skills, capacity and load (the open cases they hold), and the
room left (``free``: capacity less load, never below zero)."""

from __future__ import annotations

from typing import Any

from projections.oltp.agents import TABLE as AGENTS
from projections.oltp.queries import Page, Reader, Where

COLUMNS = tuple(c for c in AGENTS.column_names if c != "position")


class AgentQueries(Reader):
    def agents(self, skill: str | None = None, has_room: bool | None = None, limit: int = 50, offset: int = 0) -> Page:
        """By handle. ``skill``: agents who have it (in any case); ``has_room``: agents whose
        load is below their capacity (or not)."""
        where = Where()
        if skill is not None:
            where.add(self.db.json_list_has("skills"), skill.strip().lower())
        if has_room is not None:
            where.add("load < capacity" if has_room else "load >= capacity")
        found, total = self.page(", ".join(COLUMNS), AGENTS.name, where, "handle, id", limit, offset)
        return Page([self._agent(row) for row in found], total)

    def agent(self, agent_id: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {', '.join(COLUMNS)} FROM {AGENTS.name} WHERE id = {self.db.ph}", (agent_id,))
        return self._agent(found[0]) if found else None

    def by_handle(self, handle: str) -> dict[str, Any] | None:
        found = self.rows(f"SELECT {', '.join(COLUMNS)} FROM {AGENTS.name} WHERE handle = {self.db.ph}", (handle,))
        return self._agent(found[0]) if found else None

    @staticmethod
    def _agent(row: tuple[Any, ...]) -> dict[str, Any]:
        agent = AGENTS.record(COLUMNS, row)
        agent["free"] = max(agent["capacity"] - agent["load"], 0)
        agent["has_room"] = agent["load"] < agent["capacity"]
        return agent
