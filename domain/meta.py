"""Who did it and why: the metadata every event carries for the audit trail."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Meta:
    """``actor`` is the authenticated principal; ``correlation_id`` ties together everything
    one request or process set off; ``causation_id`` names the command or event that caused
    this one."""

    actor: str
    correlation_id: str
    causation_id: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
