"""The operational projection is pure: given envelopes, then row changes."""

from __future__ import annotations

import pytest

from projections.oltp import accounts, campaigns, cases, contacts, deals, duplicates, pipelines, timeline
from projections.oltp.projection import TABLES, project
from projections.oltp.rows import Patch, Row, canonical_time, merge
from streams.envelope import Envelope
from tests.oltp_story import T0, personal_in, tell

STORY = tell()


def final(table: str, name: str) -> Patch:
    """The story's events of one aggregate merged into its final patch of ``table``."""
    patches = [c for e in STORY.envelopes[name] for c in project(e) if isinstance(c, Patch) and c.table == table]
    [patch] = merge(patches)
    return patch


def test_every_table_has_a_distinct_base_name():
    names = [t.name for t in TABLES]
    assert len(names) == len(set(names)) == 9


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
