"""The operational projection is pure: given envelopes, then row changes."""

from __future__ import annotations

import pytest

from projections.oltp import accounts, campaigns, cases, contacts, deals, duplicates, pipelines, schema, timeline
from projections.oltp.price_lists import price_id
from projections.oltp.projection import TABLES, project
from projections.oltp.rows import Patch, Row, canonical_time, merge
from projections.oltp.sales_queries import priced
from streams.envelope import Envelope
from tests.oltp_story import T0, Story, personal_in, tell, tell_sales

STORY = tell()
SALES = tell_sales()


def final(table: str, name: str, story: Story = STORY) -> Patch:
    """The story's events of one aggregate merged into its final patch of ``table``."""
    [patch] = finals(table, name, story)
    return patch


def finals(table: str, name: str, story: Story = SALES) -> list[Patch]:
    """The final patch of each row of ``table`` the aggregate's events change."""
    patches = [c for e in story.envelopes[name] for c in project(e) if isinstance(c, Patch) and c.table == table]
    return merge(patches)


def test_every_table_has_a_distinct_base_name():
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names)) == 19


def test_the_second_schema_version_adds_every_table_the_first_did_not_know():
    first = {"contacts", "accounts", "pipelines", "deals", "cases", "campaigns", "campaign_sends"}
    first |= {"campaign_responses", "timeline"}
    assert {t.name for t in schema.SALES_TABLES} == {t.name for t in TABLES} - first
    added: dict[str, list[str]] = {}
    for table, name, _ in schema.SALES_COLUMNS:
        added.setdefault(table.name, []).append(name)
    # Last, in order, as ALTER TABLE appends them: a rebuilt table has the upgraded one's shape.
    for table in TABLES:
        names = added.get(table.name, [])
        assert list(table.column_names[len(table.columns) - len(names) :]) == names


def test_contact_keys_follow_name_email_and_phone():
    ada = final("contacts", "ada")
    assert (ada.version, ada.creates) == (4, True)
    assert (ada.values["email"], ada.values["email_key"]) == ("ada@engines.example.com", "ada@engines.example.com")
    assert (ada.values["phone_key"], ada.values["name_key"]) == ("442079460958", "ada lovelace")
    assert (ada.values["owner"], ada.values["account_id"], ada.values["lead_score"]) == ("ben", STORY.ids["acme"], 40)


def test_erasure_clears_personal_data_and_its_keys():
    erin = final("contacts", "erin")
    assert erin.values["erased"] is True
    for column in ("name", "email", "phone", "name_key", "email_key", "phone_key"):
        assert erin.values[column] is None


def test_an_account_patch_carries_its_whole_contact_list():
    acme = final("accounts", "acme")
    assert acme.values["contacts"] == [STORY.ids["ada"]]
    assert (acme.values["name"], acme.values["name_key"], acme.version) == ("Acme", "acme", 2)


def test_a_pipeline_patch_carries_its_whole_stage_list():
    [changed] = [pipelines.project(e) for e in STORY.envelopes["pipeline"][1:]]
    assert changed is not None and not changed.creates
    assert [(s["key"], s["probability"]) for s in changed.values["stages"]] == [("qualify", 0.2), ("proposal", 0.6)]


def test_deal_patches_follow_its_stage_and_status():
    deal = final("deals", "deal")
    assert (deal.values["stage"], deal.values["status"], deal.values["probability"]) == ("proposal", "open", 0.5)
    assert (deal.values["amount"], deal.values["contact_id"]) == ("1000.00", STORY.ids["ada"])
    lost = final("deals", "big")
    assert (lost.values["status"], lost.values["probability"], lost.values["lost_reason"]) == (
        "lost",
        0.0,
        "Ada found it pricey",
    )
    assert lost.values["closed_at"] == lost.values["stage_entered_at"]


def test_case_patches_record_breaches_per_kind_and_the_first_response():
    breach = cases.project(STORY.envelopes["case"][1])
    assert breach is not None and set(breach.values) == {"first_response_breached", "updated_at"}
    case = final("cases", "case")
    assert (case.values["status"], case.values["agent"], case.values["responses"]) == ("resolved", "sam", 1)
    assert (case.values["first_response_breached"], case.values["resolution_breached"]) == (True, False)
    assert case.values["first_response_met"] is False and case.values["first_contact_resolution"] is True


def test_an_unknown_breach_kind_is_refused_so_the_record_is_dead_lettered():
    envelope = STORY.envelopes["case"][1]
    odd = Envelope(**{**envelope.__dict__, "data": {**envelope.data, "kind": "mood"}})
    with pytest.raises(ValueError, match="mood"):
        cases.project(odd)


def test_campaign_sends_and_responses_are_rows_of_their_own():
    sent, response = (campaigns.project(e) for e in STORY.envelopes["spring"][2:])
    [patch, row] = sent
    assert isinstance(patch, Patch) and patch.values["sent_count"] == 1
    assert isinstance(row, Row) and row.table == "campaign_sends"
    assert (row.values["contact_id"], row.values["sequence"], row.values["actor"]) == (STORY.ids["ada"], 3, "ana")
    [patch, row] = response
    assert isinstance(row, Row) and (row.values["response"], patch.values["responses_total"]) == ("opened", 1)


def test_a_timeline_row_for_every_contact_deal_and_case_event_only():
    rows = [r for e in STORY.all for r in project(e) if isinstance(r, Row) and r.table == "timeline"]
    kinds = {e.aggregate_type for e in STORY.all if e.aggregate_type in ("contact", "deal", "case")}
    assert len(rows) == sum(1 for e in STORY.all if e.aggregate_type in kinds)
    assert {r.values["aggregate_type"] for r in rows} == {"contact", "deal", "case"}


def test_timeline_times_are_when_it_happened():
    interaction, breach = STORY.envelopes["ada"][1], STORY.envelopes["case"][1]
    assert timeline.occurred_at(interaction) == "2026-03-02T09:00:00Z"  # occurred_at
    assert canonical_time(timeline.occurred_at(breach)) == canonical_time(breach.data["at"])
    created = STORY.envelopes["ada"][0]
    assert canonical_time(timeline.occurred_at(created)) == canonical_time(created.time)  # recorded


def test_summaries_are_one_line_and_hold_no_personal_data():
    summaries: dict[str, str] = {}  # the first of each type
    for envelope in STORY.all:
        if envelope.aggregate_type in ("contact", "deal", "case"):
            row = timeline.project(envelope)
            assert row is not None
            text = row.values["summary"]
            assert text and "\n" not in text
            assert not personal_in(text), text
            summaries.setdefault(envelope.type, text)
    assert summaries["crm.contact.created.v1"] == "Contact created as subscriber, owner ana, tags vip"
    assert summaries["crm.contact.details_changed.v1"] == "Details changed: email; owner → ben"
    assert summaries["crm.contact.interaction_recorded.v1"] == "Content downloaded: +40 points, score 40"
    assert summaries["crm.deal.stage_changed.v1"] == "Deal moved from qualify to proposal after 24.0 hours"
    assert summaries["crm.deal.lost.v1"] == "Deal lost in qualify after 2.0 days"
    assert summaries["crm.deal.created.v1"] == "Deal created in qualify (20%), 1000.00 EUR, owner ben"
    assert summaries["crm.case.opened.v1"] == "Case opened: urgent priority, via email"
    assert summaries["crm.case.resolved.v1"] == "Case resolved at first contact after 4.0 hours, within its deadline"
    assert summaries["crm.case.sla_breached.v1"] == "SLA breached: first response was due 2026-03-02 10:00 UTC"
    assert summaries["crm.contact.erased.v1"] == "Personal data erased"


def test_events_of_other_aggregates_give_no_rows_of_a_table():
    campaign_event = STORY.envelopes["spring"][0]
    for single in (contacts.project, accounts.project, pipelines.project, deals.project, cases.project):
        assert single(campaign_event) is None
    assert timeline.project(campaign_event) is None


def test_canonical_times_sort_as_times():
    times = ["2026-03-02T09:00:00Z", "2026-03-02T09:00:00.5Z", "2026-03-02T10:00:00+01:00"]
    canonical = [canonical_time(t) for t in times]
    assert canonical == ["2026-03-02T09:00:00.000000Z", "2026-03-02T09:00:00.500000Z", "2026-03-02T09:00:00.000000Z"]
    assert canonical_time(T0) == "2026-03-02T09:00:00.000000Z"


def test_table_ddl_names_tables_and_indexes_after_their_physical_name():
    create, *indexes = contacts.TABLE.ddl({"uuid": "UUID", "ts": "TIMESTAMPTZ", "json": "JSONB"}, "contacts__r2")
    assert create.startswith("CREATE TABLE IF NOT EXISTS contacts__r2 (")
    assert "CREATE INDEX IF NOT EXISTS contacts__r2_email_key ON contacts__r2 (email_key)" in indexes


# -- duplicates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [(" Ada@Example.COM ", "ada@example.com"), ("", None), (None, None)],
)
def test_email_keys_are_lower_case_and_trimmed(raw, key):
    assert duplicates.email_key(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [("+44 (20) 7946-0958", "442079460958"), ("020 7946", "0207946"), ("12 34 56", None), (None, None)],
)
def test_phone_keys_are_the_digits_and_need_seven(raw, key):
    assert duplicates.phone_key(raw) == key


def test_names_compare_without_case_accents_punctuation_or_word_order():
    assert duplicates.name_key("  Zoë   Ölund ") == "zoe olund"
    assert duplicates.similar(duplicates.name_key("Hopper, Grace"), duplicates.name_key("grace HOPPER"))
    assert duplicates.similar("grace hopper", "grace hoper")  # ratio 0.96
    assert not duplicates.similar("grace hopper", "grace kelly")  # ratio 0.61


def contact(id_: str, account: str | None = None, **keys: str) -> dict[str, str | None]:
    return {"id": id_, "account_id": account, **keys}


def test_same_key_groups_need_two_contacts_sharing_a_key():
    found = duplicates.same_key_groups(
        [contact("a", email_key="x@y.z"), contact("b", email_key="x@y.z"), contact("c", email_key="q@y.z")],
        "email_key",
    )
    assert [[c["id"] for c in g] for g in found] == [["a", "b"]]


def test_similar_names_group_within_one_account_only_and_transitively():
    found = duplicates.similar_name_groups(
        [
            contact("a", "acme", name_key="grace hopper"),
            contact("b", "acme", name_key="grace hoper"),
            contact("c", "acme", name_key="grace hope"),  # like b, less like a
            contact("d", "globex", name_key="grace hopper"),
            contact("e", "acme", name_key="grace kelly"),
            contact("f", None, name_key="grace hopper"),
        ]
    )
    assert [sorted(c["id"] for c in g) for g in found] == [["a", "b", "c"]]


# -- sales and service ------------------------------------------------------------------


def test_a_price_row_holds_the_current_price_and_a_removed_one_none():
    ids = SALES.ids
    rows = {p.id: p for p in finals("price_list_prices", "prices")}
    widget = rows[price_id(ids["prices"], ids["widget"])]
    assert (widget.values["unit_price"], widget.values["previous_price"], widget.version) == ("120.00", "100.00", 4)
    gadget = rows[price_id(ids["prices"], ids["gadget"])]
    assert (gadget.values["unit_price"], gadget.values["previous_price"], gadget.creates) == (None, "5.00", True)
    [price_list] = finals("price_lists", "prices")
    assert (price_list.values["valid_from"], price_list.values["valid_until"]) == ("2026-01-01", "2026-12-31")


def test_a_quote_keeps_its_revision_status_and_order_and_marks_removed_lines():
    [quote] = finals("quotes", "q1")
    values = quote.values
    assert (values["status"], values["revision"], values["order_id"]) == ("accepted", 2, SALES.ids["first"])
    assert values["reject_reason"] is None  # the rejection was of revision 1
    lines = finals("quote_lines", "q1")
    assert [(line.values["quantity"], line.values["removed"]) for line in lines] == [("5", True), ("2", False)]


def test_line_figures_follow_the_quotes_rule():
    [order] = finals("orders", "first")
    lines, totals = priced(order.values["lines"], order.values["currency"])
    assert [(str(line["net"]), str(line["tax"]), str(line["total"])) for line in lines] == [
        ("230.00", "46.00", "276.00")
    ]
    assert str(totals["total"]) == order.values["total"] == "276.00"


def test_an_order_cancelled_keeps_its_reason_and_the_deal_amount_follows_its_orders():
    [second] = finals("orders", "second")
    assert (second.values["status"], second.values["cancel_reason"]) == ("cancelled", "Ordered twice")
    [deal] = finals("deals", "deal")
    assert (deal.values["status"], deal.values["amount"], deal.values["orders"]) == ("won", "276.00", 1)


def test_a_duplicate_case_is_closed_with_its_link_and_the_original_needs_its_skill():
    [k2] = finals("cases", "k2")
    assert (k2.values["status"], k2.values["duplicate_of"], k2.values["skill"]) == ("closed", SALES.ids["k1"], None)
    assert k2.values["closed_at"] == "2026-03-02T10:00:00Z"
    [k1] = finals("cases", "k1")
    assert (k1.values["skill"], k1.values["duplicate_of"]) == ("billing", None)


def test_an_agents_load_is_the_count_its_events_carry():
    [sam] = finals("agents", "sam")
    assert (sam.values["load"], sam.values["capacity"], sam.values["skills"]) == (1, 3, ["api", "billing"])
    assert sam.values["last_taken_at"] == "2026-03-02T11:00:00Z"


def test_activities_become_overdue_and_stop_being_so_when_moved_into_the_future():
    [call] = finals("activities", "call")
    assert (call.values["owner"], call.values["overdue"], call.values["status"]) == ("ana", True, "open")
    [moved] = finals("activities", "moved")
    assert (moved.values["overdue"], moved.values["overdue_since"], moved.values["due_set_in"]) == (False, None, 4)
    reminders = [c for e in SALES.envelopes["call"] for c in project(e) if isinstance(c, Row)]
    assert [(r.table, r.values["minutes_before"]) for r in reminders if r.table == "activity_reminders"] == [
        ("activity_reminders", 60)
    ]
    [done] = finals("activities", "done")
    assert (done.values["status"], done.values["outcome"]) == ("done", "Ada loved it")


def test_a_contract_records_its_term_renewal_deal_and_end():
    [support] = finals("contracts", "support")
    assert (support.values["value"], support.values["renewal_days"], support.values["status"]) == (
        "1500.00",
        45,
        "active",
    )
    [pilot] = finals("contracts", "pilot")
    assert pilot.values["renewal_deal_id"] == SALES.ids["deal"]
    [old] = finals("contracts", "old")
    assert (old.values["status"], old.values["end_reason"], old.values["ended_on"]) == (
        "terminated",
        "Moving away",
        "2026-03-03",
    )
    [trial] = finals("contracts", "trial")
    assert (trial.values["status"], trial.values["ended_on"]) == ("lapsed", "2026-02-28")


def test_activities_and_contracts_are_on_the_timeline_the_catalog_quotes_and_orders_not():
    kinds = {
        r.values["aggregate_type"]
        for e in SALES.all
        for r in project(e)
        if isinstance(r, Row) and r.table == "timeline"
    }
    assert kinds == {"contact", "deal", "case", "activity", "contract"}
    for envelope in SALES.all:
        if envelope.aggregate_type in ("activity", "contract"):
            row = timeline.project(envelope)
            assert row is not None and not personal_in(row.values["summary"]), row.values["summary"]
