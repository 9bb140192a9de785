"""The Contract aggregate: signing, amendment, renewal, termination and lapse."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.contract import (
    Contract,
    ContractEnded,
    ContractRunning,
    RenewalNotDue,
    RenewalOpen,
    TerminationReasonRequired,
)
from domain.errors import InvalidValue
from domain.meta import Meta

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
ACCOUNT = UUID("00000000-0000-4000-8000-00000000a001")
DEAL = UUID("00000000-0000-4000-8000-00000000d001")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


def signed(**kwargs) -> Contract:
    terms = {
        "title": "Support 2026",
        "account_id": ACCOUNT,
        "starts_on": date(2026, 1, 1),
        "ends_on": date(2026, 12, 31),
        "value": Decimal("12000.00"),
        "currency": "eur",
        "renewal_days": 30,
        **kwargs,
    }
    return Contract.sign(at=at("2025-12-15"), meta=META, **terms)


def test_a_contract_belongs_to_one_party_and_ends_after_it_starts():
    with pytest.raises(InvalidValue):
        Contract.sign(
            title="x",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 2, 1),
            value=Decimal(1),
            currency="EUR",
            at=at("2026-01-01"),
            meta=META,
        )
    with pytest.raises(InvalidValue):
        signed(ends_on=date(2025, 12, 31))
    with pytest.raises(InvalidValue):
        signed(renewal_days=-1)
    assert signed().currency == "EUR"


def test_an_amendment_needs_a_reason_and_records_only_what_changed():
    contract = signed()
    contract.collect_events()
    with pytest.raises(InvalidValue):
        contract.amend(None, at("2026-03-01"), META, value=Decimal("13000"))
    with pytest.raises(InvalidValue):
        contract.amend("longer", at("2026-03-01"), META, ends_on=date(2025, 6, 1))
    contract.amend("more seats", at("2026-03-01"), META, value=Decimal("13000"), title="Support 2026")
    (amended,) = contract.collect_events()
    assert amended.changes == {"value": Decimal("13000")}


def test_the_renewal_opens_once_per_term_from_its_window():
    contract = signed()
    with pytest.raises(RenewalNotDue):
        contract.open_renewal(DEAL, at("2026-11-30"), META)
    contract.open_renewal(DEAL, at("2026-12-01"), META)
    with pytest.raises(RenewalOpen):
        contract.open_renewal(DEAL, at("2026-12-02"), META)
    contract.renew(date(2027, 12, 31), Decimal("12500"), at("2026-12-20"), META)
    assert (contract.starts_on, contract.ends_on, contract.renewal_deal_id) == (
        date(2027, 1, 1),
        date(2027, 12, 31),
        None,
    )
    contract.open_renewal(DEAL, at("2027-12-01"), META)


def test_a_contract_is_ended_once_by_termination_or_lapse():
    contract = signed()
    with pytest.raises(TerminationReasonRequired):
        contract.terminate(" ", date(2026, 6, 30), at("2026-06-01"), META)
    contract.terminate("company closed", date(2026, 6, 30), at("2026-06-01"), META)
    for again in (
        lambda: contract.terminate("again", date(2026, 6, 30), at("2026-06-02"), META),
        lambda: contract.lapse(at("2027-01-01"), META),
        lambda: contract.amend("late", at("2026-06-02"), META, value=Decimal(1)),
        lambda: contract.renew(date(2027, 12, 31), Decimal(1), at("2026-06-02"), META),
    ):
        with pytest.raises(ContractEnded):
            again()
    running = signed()
    with pytest.raises(ContractRunning):
        running.lapse(at("2026-12-31"), META)
    running.lapse(at("2027-01-01"), META)
    assert running.status == "lapsed"
    with pytest.raises(ContractEnded):
        running.lapse(at("2027-01-02"), META)


def test_a_contract_rebuilt_from_its_events_equals_the_live_one():
    contract = signed()
    contract.amend("more seats", at("2026-03-01"), META, value=Decimal("13000"))
    contract.open_renewal(DEAL, at("2026-12-05"), META)
    contract.renew(date(2027, 12, 31), Decimal("14000"), at("2026-12-20"), META)
    rebuilt = None
    for recorded in contract.collect_events():
        rebuilt = recorded.mutate(rebuilt)
    assert rebuilt.__dict__ == contract.__dict__
