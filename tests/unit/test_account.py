"""Given / when / then for the Account aggregate's rules."""

import re
from uuid import UUID

import pytest

from domain.account import Account, NotAMember
from domain.errors import EmptyName, InvalidValue, RuleViolation
from domain.meta import Meta

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")
ADA = UUID("00000000-0000-4000-8000-00000000000a")
BEN = UUID("00000000-0000-4000-8000-00000000000b")


def new_account(**fields):
    account = Account.create(name=fields.pop("name", "Analytical Engines"), meta=META, **fields)
    account.collect_events()
    return account


# -- create --------------------------------------------------------------------------


def test_created_account_has_its_details_and_no_contacts():
    account = Account.create(
        name="  Analytical Engines ",
        domain=" Engines.Example.COM ",
        industry="Machinery",
        size="11-50",
        owner="ana.sales",
        meta=META,
    )
    [created] = account.collect_events()
    assert isinstance(created, Account.Created)
    assert created.TOPIC == "crm.account.created.v1"
    assert (created.name, created.domain, created.industry, created.size, created.owner) == (
        "Analytical Engines",
        "engines.example.com",
        "Machinery",
        "11-50",
        "ana.sales",
    )
    assert created.meta == META
    assert (account.name, account.domain, account.contacts, account.version) == (
        "Analytical Engines",
        "engines.example.com",
        [],
        1,
    )


def test_account_without_optional_details_leaves_them_empty():
    account = Account.create(name="Acme", domain="  ", meta=META)
    assert (account.domain, account.industry, account.size, account.owner) == (None,) * 4


@pytest.mark.parametrize("name", ["", "   ", None])
def test_account_needs_a_name(name):
    with pytest.raises(EmptyName) as refused:
        Account.create(name=name, meta=META)
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize("domain", ["localhost", "ada@example.com", "https://example.com", "exa mple.com", "a..com"])
def test_account_domain_must_look_like_a_host_name(domain):
    with pytest.raises(InvalidValue, match="not a domain name") as refused:
        Account.create(name="Acme", domain=domain, meta=META)
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize("domain", ["example.com", "my-shop.co.uk", "x1.io"])
def test_host_names_with_letters_digits_dots_and_hyphens_are_accepted(domain):
    assert Account.create(name="Acme", domain=domain, meta=META).domain == domain


# -- change_details ------------------------------------------------------------------


def test_change_details_records_only_what_differs():
    account = new_account(industry="Machinery", owner="ana.sales")
    account.change_details({"industry": "Machinery", "owner": "ben.sales", "domain": "Engines.Example"}, META)
    [changed] = account.collect_events()
    assert isinstance(changed, Account.DetailsChanged)
    assert changed.TOPIC == "crm.account.details_changed.v1"
    assert changed.changes == {"owner": "ben.sales", "domain": "engines.example"}
    assert changed.meta == META
    assert (account.industry, account.owner, account.domain, account.version) == (
        "Machinery",
        "ben.sales",
        "engines.example",
        2,
    )


def test_a_change_to_nothing_records_nothing():
    account = new_account(owner="ana.sales")
    account.change_details({"owner": " ana.sales "}, META)
    assert account.collect_events() == []
    assert account.version == 1


def test_details_change_may_clear_an_optional_detail():
    account = new_account(size="11-50")
    account.change_details({"size": None}, META)
    [changed] = account.collect_events()
    assert changed.changes == {"size": None}
    assert account.size is None


def test_details_change_cannot_touch_other_fields():
    account = new_account()
    with pytest.raises(InvalidValue, match="contacts") as refused:
        account.change_details({"contacts": [ADA]}, META)
    assert refused.value.code == "validation_error"
    assert account.collect_events() == []


def test_details_change_cannot_clear_the_name():
    account = new_account()
    with pytest.raises(EmptyName) as refused:
        account.change_details({"name": "  "}, META)
    assert refused.value.code == "validation_error"
    assert account.collect_events() == []
    assert account.name == "Analytical Engines"


def test_details_change_refuses_a_malformed_domain_and_records_nothing_at_all():
    account = new_account()
    with pytest.raises(InvalidValue, match="not a domain name"):
        account.change_details({"owner": "ben.sales", "domain": "nodot"}, META)
    assert account.collect_events() == []
    assert account.owner is None


# -- contacts ------------------------------------------------------------------------


def test_adding_contacts_records_the_full_new_list():
    account = new_account()
    account.add_contact(ADA, META)
    account.add_contact(BEN, META)
    first, second = account.collect_events()
    assert isinstance(first, Account.ContactAdded)
    assert first.TOPIC == "crm.account.contact_added.v1"
    assert (first.contact_id, first.contacts, first.meta) == (ADA, [ADA], META)
    assert (second.contact_id, second.contacts) == (BEN, [ADA, BEN])
    assert account.contacts == [ADA, BEN]


def test_adding_a_member_again_records_nothing():
    account = new_account()
    account.add_contact(ADA, META)
    account.collect_events()
    account.add_contact(ADA, META)
    assert account.collect_events() == []
    assert (account.contacts, account.version) == ([ADA], 2)


def test_a_contact_id_must_be_a_uuid():
    account = new_account()
    with pytest.raises(InvalidValue) as refused:
        account.add_contact(str(ADA), META)
    assert refused.value.code == "validation_error"
    assert account.collect_events() == []


def test_removing_a_contact_records_the_full_new_list():
    account = new_account()
    account.add_contact(ADA, META)
    account.add_contact(BEN, META)
    account.collect_events()
    account.remove_contact(ADA, META)
    [removed] = account.collect_events()
    assert isinstance(removed, Account.ContactRemoved)
    assert removed.TOPIC == "crm.account.contact_removed.v1"
    assert (removed.contact_id, removed.contacts, removed.meta) == (ADA, [BEN], META)
    assert account.contacts == [BEN]


def test_only_a_member_can_be_removed():
    account = new_account()
    account.add_contact(ADA, META)
    account.collect_events()
    with pytest.raises(NotAMember) as refused:
        account.remove_contact(BEN, META)
    assert isinstance(refused.value, RuleViolation)
    assert refused.value.code == "not_a_member"
    assert account.collect_events() == []
    assert account.contacts == [ADA]


def test_every_event_class_has_its_own_topic():
    events = (Account.Created, Account.DetailsChanged, Account.ContactAdded, Account.ContactRemoved)
    assert Account.TOPIC == "crm.account"
    # distinct topics: none is inherited (eventsourcing redefines the classes, so
    # vars() cannot tell)
    assert all(re.fullmatch(r"crm\.account\.[a-z_]+\.v1", cls.TOPIC) for cls in events)
    assert len({cls.TOPIC for cls in events}) == len(events)


def test_account_rebuilt_from_its_events_equals_the_live_one():
    live = Account.create(name="Acme", domain="acme.example", owner="ana.sales", meta=META)
    live.add_contact(ADA, META)
    live.add_contact(BEN, META)
    live.change_details({"industry": "Retail", "owner": "ben.sales"}, META)
    live.remove_contact(ADA, META)
    events = live.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == live.__dict__
