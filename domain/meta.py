"""Who did it and why: the metadata every event carries for the audit trail."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Meta:
    """``actor`` is the authenticated principal; ``correlation_id`` ties together everything
    one request or process set off; ``causation_id`` names the command or event that caused
    this one."""

    actor: str
    correlation_id: str
    causation_id: str

    def as_dict(self) -> dict[str, str]:
        # Written out: every event's encoding calls this, and dataclasses.asdict is slow.
        return {"actor": self.actor, "correlation_id": self.correlation_id, "causation_id": self.causation_id}
