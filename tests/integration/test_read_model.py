"""The operational read model through the HTTP API, on SQLite (embedded) and on
PostgreSQL with the events travelling on Kafka (production): one scenario, built once per
mode, then read by every test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commands.case import OpenCase, RecordSlaBreach
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from tests.oltp_story import personal_in
from tests.topics import delete_topics

PERSONAL = ("Ada", "Lovelace", "example.com", "7946", "Erin", "555")


def _personal(text: str) -> bool:
    return bool(personal_in(text, PERSONAL))


@dataclass
class World:
    """What the scenario recorded, by short name, and the client reading it."""

    client: TestClient
    ids: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def names(self, path: str, **params: Any) -> list[str]:
        """The scenario's names of the items a list answers, in its order."""
        return [self.name_of(item["id"]) for item in self.get(path, **params)["items"]]

    def name_of(self, id_: str) -> str:
        return next(name for name, known in self.ids.items() if known == id_)


def ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return answer.json()


def tell_the_story(container: Container) -> World:
    client = TestClient(create_app(container), headers={"X-Actor": "ana"})
    world = World(client)
    ids = world.ids

    def post(path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        return ok(client.post(path, json=body), status)

    def contact(name: str, **fields: Any) -> str:
        return post("/v1/contacts", {"name": name, **fields}, 201)["id"]

    ids["acme"] = post("/v1/accounts", {"name": "Acme", "owner": "ana"}, 201)["id"]
    ids["globex"] = post("/v1/accounts", {"name": "Globex"}, 201)["id"]
    ids["ada"] = contact(
        "Ada Lovelace", email="Ada@example.com", phone="+44 20 7946 0958", tags=["VIP", "trial"], owner="ana"
    )
    ids["byron"] = contact("Ada Byron", email="ada@EXAMPLE.com", tags=["trial"], owner="ben")
    ids["grace"] = contact("Grace Hopper", phone="(020) 7946-0001", owner="ben")
    ids["hoper"] = contact("Grace  Hoper")
    ids["kelly"] = contact("Grace Kelly")
    ids["linus"] = contact("Linus", phone="020 7946 0001")
    ids["erin"] = contact("Erin Erased", email="erin@example.com", phone="555 123 4567")
    ids["erin2"] = contact("Erin Other", email="ERIN@example.com")
    post(f"/v1/accounts/{ids['acme']}/contacts", {"contact_id": ids["ada"]})
    for member in ("grace", "hoper", "kelly"):
        post(f"/v1/accounts/{ids['globex']}/contacts", {"contact_id": ids[member]})
    for kind in ("content_downloaded", "page_visited"):
        post(f"/v1/contacts/{ids['ada']}/interactions", {"type": kind, "details": {"note": "Ada loved it"}}, 201)
    post(f"/v1/contacts/{ids['byron']}/interactions", {"type": "email_opened"}, 201)
    post(f"/v1/contacts/{ids['ada']}/lifecycle", {"stage": "lead"})

    stages = [
        {"key": "qualify", "name": "Qualify", "probability": 0.1},
        {"key": "proposal", "name": "Proposal", "probability": 0.5},
        {"key": "negotiate", "name": "Negotiation", "probability": 0.8},
    ]
    ids["pipeline"] = pipeline = post("/v1/pipelines", {"name": "New business", "stages": stages}, 201)["id"]

    def deal(name: str, amount: str, owner: str, **party: str) -> str:
        body = {"pipeline_id": pipeline, "title": f"{name} seats", "amount": amount, "owner": owner, **party}
        ids[name] = post("/v1/deals", body, 201)["id"]
        return ids[name]

    deal("d1", "1000.00", "ana", contact_id=ids["ada"])
    post(f"/v1/deals/{deal('d2', '2000.50', 'ben', contact_id=ids['ada'])}/stage", {"stage": "proposal"})
    post(f"/v1/deals/{deal('d3', '3000', 'ana', account_id=ids['acme'])}/stage", {"stage": "negotiate"})
    post(
        f"/v1/deals/{deal('d4', '500', 'ben', contact_id=ids['byron'])}/win",
        {"amount": "600", "closed_on": "2026-11-20"},
    )
    post(f"/v1/deals/{deal('d5', '700', 'ben', contact_id=ids['grace'])}/lose", {"reason": "Grace found it pricey"})
    ok(client.put(f"/v1/pipelines/{pipeline}/stages/proposal/probability", json={"probability": 0.6}))

    def case(name: str, who: str, priority: str, subject: str = "Cannot log in") -> str:
        body = {"contact_id": ids[who], "subject": subject, "priority": priority}
        ids[name] = post("/v1/cases", body, 201)["id"]
        return ids[name]

    case("k1", "ada", "normal")
    # A case opened nine hours ago: its first-response deadline (eight hours) passed. Once
    # answered, its next deadline (the resolution's, in 63 hours) is later than the others'.
    meta = Meta("sla.watch", "corr", "cause")
    nine_hours_ago = datetime.now(UTC) - timedelta(hours=9)
    ids["k2"] = k2 = str(
        container.commands.execute(OpenCase(uuid.UUID(ids["ada"]), "Down", "normal", at=nine_hours_ago), meta).id
    )
    container.commands.execute(RecordSlaBreach(uuid.UUID(k2), "first_response"), meta)
    post(f"/v1/cases/{k2}/respond", {"agent": "kim"})
    post(f"/v1/cases/{case('k3', 'byron', 'high')}/assign", {"agent": "sam"})
    k4 = case("k4", "grace", "low")
    post(f"/v1/cases/{k4}/assign", {"agent": "sam"})
    post(f"/v1/cases/{k4}/respond", {})
    post(f"/v1/cases/{k4}/resolve", {"resolution": "Told Grace how"})
    case("k5", "erin", "low", subject="Erin Erased cannot log in")

    audience = {"tags_any": ["trial"], "consent_required": False}
    ids["spring"] = spring = post("/v1/campaigns", {"name": "Spring", "channel": "email", "audience": audience}, 201)[
        "id"
    ]
    post(f"/v1/campaigns/{spring}/launch")
    sent = post(f"/v1/campaigns/{spring}/sends", {"contact_ids": [ids["ada"], ids["byron"], ids["grace"]]})
    assert sent["sent"] == 2  # Grace has no trial tag
    for who, response in (("ada", "opened"), ("ada", "clicked"), ("byron", "opened")):
        post(f"/v1/campaigns/{spring}/responses", {"contact_id": ids[who], "response": response}, 201)
    ids["draft"] = post("/v1/campaigns", {"name": "Autumn", "channel": "webinar"}, 201)["id"]

    post(f"/v1/contacts/{ids['erin']}/erase", {"reason": "asked to"})
    return world


def project(container: Container) -> None:
    if container.settings.uses_kafka:
        relay = container.relay()
        while relay.publish_pending():
            pass
        container.projector("oltp").run_until_idle(timeout=0.5)
    else:
        container.projector("oltp").run_until_idle(timeout=0.05)


@pytest.fixture(scope="module", params=["embedded", "production"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        container = Container(Settings(data_dir=data / "data"))
        drop: str | None = None
    else:
        import psycopg

        server = request.getfixturevalue("postgres_server")
        kafka = request.getfixturevalue("kafka_bootstrap")
        drop = f"crm_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {drop}")
        dsn = server.rsplit("/", 1)[0] + f"/{drop}"
        settings = Settings(
            data_dir=Path(data / "data"),
            event_store=dsn,
            oltp_dsn=dsn,
            kafka_bootstrap=kafka,
            kafka_topic_prefix=f"crmtest{uuid.uuid4().hex[:10]}",
            olap_path=Path(data / "analytics.duckdb"),
        )
        container = Container(settings)
    try:
        story = tell_the_story(container)
        project(container)
        yield story
    finally:
        container.close()
        if drop:
            import psycopg

            delete_topics(container.settings.kafka_topic_prefix)

            with psycopg.connect(request.getfixturevalue("postgres_server"), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {drop} WITH (FORCE)")


class TestContacts:
    def test_filters_combine_and_match_case_insensitively(self, world: World) -> None:
        assert world.names("/v1/contacts", q="LOVE") == ["ada"]
        assert sorted(world.names("/v1/contacts", q="ada")) == ["ada", "byron"]
        assert sorted(world.names("/v1/contacts", email=" ADA@example.COM ")) == ["ada", "byron"]
        assert world.names("/v1/contacts", tag="Vip") == ["ada"]
        assert world.names("/v1/contacts", lifecycle_stage="lead") == ["ada"]
        assert sorted(world.names("/v1/contacts", owner="ben")) == ["byron", "grace"]
        # Ada: 40 + 20 + 10 for the campaign email she opened; Byron: 10 + 10.
        assert world.names("/v1/contacts", min_score=70) == ["ada"]
        assert world.names("/v1/contacts", min_score=20, max_score=69) == ["byron"]
        assert world.names("/v1/contacts", max_score=0, owner="ben") == ["grace"]
        assert world.names("/v1/contacts", tag="trial", owner="ana") == ["ada"]
        assert world.names("/v1/contacts", q="100%") == []

    def test_pages_count_every_match(self, world: World) -> None:
        first = world.get("/v1/contacts", limit=3)
        assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (8, 3, 0, 3)
        last = world.get("/v1/contacts", limit=3, offset=6)
        assert (last["total"], len(last["items"])) == (8, 2)
        everyone = world.names("/v1/contacts", limit=500)
        assert everyone[:3] == world.names("/v1/contacts", limit=3)
        assert everyone[-1] == "ada" and everyone[0] == "erin2"  # newest first

    def test_an_erased_contact_keeps_no_personal_data(self, world: World) -> None:
        erin = world.get(f"/v1/contacts/{world.ids['erin']}")
        assert (erin["name"], erin["email"], erin["phone"], erin["erased"]) == (None, None, None, True)
        assert world.names("/v1/contacts", email="erin@example.com") == ["erin2"]
        assert world.get(f"/v1/cases/{world.ids['k5']}")["subject"] is None
        summaries = [e["summary"] for e in world.get(f"/v1/contacts/{world.ids['erin']}/timeline")["items"]]
        assert summaries[0] == "Personal data erased"
        assert not [s for s in summaries if _personal(s)]

    def test_duplicates_by_email_phone_and_similar_name_within_an_account(self, world: World) -> None:
        found = world.get("/v1/contacts/duplicates")
        groups = {(g["reason"], tuple(sorted(world.name_of(c["id"]) for c in g["contacts"]))) for g in found["items"]}
        assert groups == {("email", ("ada", "byron")), ("phone", ("grace", "linus")), ("name", ("grace", "hoper"))}
        assert found["total"] == 3
        by_reason = {g["reason"]: g for g in found["items"]}
        assert by_reason["email"]["key"] == "ada@example.com"
        assert by_reason["phone"]["key"] == "02079460001"
        assert by_reason["name"]["account_id"] == world.ids["globex"]
        # Erin's address matched Erin Other's until Erin was erased.
        assert world.get("/v1/contacts/duplicates", reason="email")["total"] == 1
        assert world.get("/v1/contacts/duplicates", limit=1, offset=2)["items"][0]["reason"] == "name"


class TestTimeline:
    def test_a_contacts_timeline_gathers_its_deals_cases_and_campaigns_newest_first(self, world: World) -> None:
        answer = world.get(f"/v1/contacts/{world.ids['ada']}/timeline", limit=500)
        entries = answer["items"]
        # 7 contact events, d1 created, d2 created and moved, k1 opened, k2 opened,
        # breached and answered, one campaign send; not d3, which is the account's.
        assert answer["total"] == len(entries) == 15
        times = [datetime.fromisoformat(e["time"]) for e in entries]
        assert times == sorted(times, reverse=True)
        subjects = {e["subject"] for e in entries}
        assert subjects == {world.ids[n] for n in ("ada", "d1", "d2", "k1", "k2", "spring")}
        by_type: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_type.setdefault(entry["type"], []).append(entry)
        assert len(by_type["crm.contact.interaction_recorded.v1"]) == 4
        assert by_type["crm.campaign.sent.v1"][0]["summary"] == "Campaign sent: Spring"
        assert by_type["crm.deal.stage_changed.v1"][0]["summary"].startswith("Deal moved from qualify to proposal")
        [breach] = by_type["crm.case.sla_breached.v1"]
        assert (breach["subject"], breach["actor"]) == (world.ids["k2"], "sla.watch")
        assert breach["summary"].startswith("SLA breached: first response was due")
        opened = {e["subject"]: e for e in by_type["crm.case.opened.v1"]}
        assert opened[world.ids["k2"]]["summary"] == "Case opened: normal priority, via email"
        [responded] = by_type["crm.case.responded.v1"]
        assert responded["summary"].startswith("First response by kim after ")
        assert responded["summary"].endswith(", past its deadline")
        assert times[-1] <= datetime.fromisoformat(opened[world.ids["k2"]]["time"]) < times[0]
        assert "Content downloaded: +40 points, score 40" in [e["summary"] for e in entries]
        assert not [e["summary"] for e in entries if _personal(e["summary"])]

    def test_timeline_pages(self, world: World) -> None:
        whole = world.get(f"/v1/contacts/{world.ids['ada']}/timeline", limit=500)["items"]
        page = world.get(f"/v1/contacts/{world.ids['ada']}/timeline", limit=5, offset=5)
        assert page["total"] == 15 and page["items"] == whole[5:10]


class TestAccountsAndPipelines:
    def test_accounts_list_and_show_their_contacts(self, world: World) -> None:
        listed = world.get("/v1/accounts")
        assert [a["name"] for a in listed["items"]] == ["Acme", "Globex"] and listed["total"] == 2
        assert [a["contact_count"] for a in listed["items"]] == [1, 3]
        assert world.names("/v1/accounts", q="glob") == ["globex"]
        globex = world.get(f"/v1/accounts/{world.ids['globex']}")
        assert [world.name_of(c["id"]) for c in globex["contacts"]] == ["grace", "hoper", "kelly"]
        assert globex["contacts"][0]["name"] == "Grace Hopper"

    def test_pipelines_show_their_stages_in_order_with_current_probabilities(self, world: World) -> None:
        assert world.get("/v1/pipelines")["total"] == 1
        pipeline = world.get(f"/v1/pipelines/{world.ids['pipeline']}")
        assert [(s["key"], s["probability"], s["position"]) for s in pipeline["stages"]] == [
            ("qualify", 0.1, 0),
            ("proposal", 0.6, 1),
            ("negotiate", 0.8, 2),
        ]


class TestDeals:
    def test_the_board_sums_amounts_and_weighted_amounts_per_stage(self, world: World) -> None:
        board = world.get("/v1/deals/board", pipeline_id=world.ids["pipeline"])
        got = {s["key"]: (s["deals"], Decimal(s["amount"]), Decimal(s["weighted_amount"])) for s in board["stages"]}
        assert [s["key"] for s in board["stages"]] == ["qualify", "proposal", "negotiate", "won", "lost"]
        assert got == {
            "qualify": (1, Decimal("1000.00"), Decimal("1000.00") * Decimal("0.1")),
            "proposal": (1, Decimal("2000.50"), Decimal("2000.50") * Decimal("0.6")),  # the new probability
            "negotiate": (1, Decimal("3000"), Decimal("3000") * Decimal("0.8")),
            "won": (1, Decimal("600"), Decimal("600")),
            "lost": (1, Decimal("700"), Decimal("0")),
        }
        assert board["open"]["deals"] == 3
        assert Decimal(board["open"]["amount"]) == Decimal("6000.50")
        assert Decimal(board["open"]["weighted_amount"]) == Decimal("100") + Decimal("1200.30") + Decimal("2400")
        assert board["currencies"] == ["EUR"]

    def test_deals_filter_and_weigh_by_the_stages_current_probability(self, world: World) -> None:
        [d2] = world.get("/v1/deals", stage="proposal")["items"]
        assert (d2["id"], d2["probability"], Decimal(d2["weighted_amount"])) == (
            world.ids["d2"],
            0.6,
            Decimal("1200.30"),
        )
        assert (d2["contact_name"], d2["owner"], d2["status"]) == ("Ada Lovelace", "ben", "open")
        assert sorted(world.names("/v1/deals", owner="ana")) == ["d1", "d3"]
        assert world.names("/v1/deals", status="won") == ["d4"]
        assert sorted(world.names("/v1/deals", contact_id=world.ids["ada"])) == ["d1", "d2"]
        page = world.get("/v1/deals", pipeline_id=world.ids["pipeline"], limit=2)
        assert (page["total"], len(page["items"])) == (5, 2)
        d3 = world.get(f"/v1/deals/{world.ids['d3']}")
        assert (d3["account_name"], d3["contact_id"], d3["stage"]) == ("Acme", None, "negotiate")
        d4 = world.get(f"/v1/deals/{world.ids['d4']}")
        assert (Decimal(d4["amount"]), d4["closed_on"], d4["probability"]) == (Decimal("600"), "2026-11-20", 1.0)
        assert world.get(f"/v1/deals/{world.ids['d5']}")["lost_reason"] == "Grace found it pricey"


class TestCases:
    def test_the_queue_puts_breaches_first_then_the_nearest_deadline(self, world: World) -> None:
        # k2's next deadline is the latest of the open cases', but it was breached.
        assert world.names("/v1/cases") == ["k2", "k3", "k1", "k5", "k4"]
        k2 = world.get(f"/v1/cases/{world.ids['k2']}")
        assert (k2["first_response_breached"], k2["resolution_breached"], k2["breached"]) == (True, False, True)
        assert k2["next_due"] == k2["resolution_due"]  # answered: the resolution is next
        dues = {n: world.get(f"/v1/cases/{world.ids[n]}")["next_due"] for n in ("k3", "k1", "k5")}
        assert dues["k3"] < dues["k1"] < dues["k5"] < k2["next_due"]
        assert world.get(f"/v1/cases/{world.ids['k1']}")["next_due"] == dues["k1"]
        assert world.get(f"/v1/cases/{world.ids['k4']}")["next_due"] is None

    def test_cases_filter_by_status_priority_agent_and_breach(self, world: World) -> None:
        assert world.names("/v1/cases", breached="true") == ["k2"]
        assert world.names("/v1/cases", breached="false") == ["k3", "k1", "k5", "k4"]
        assert world.names("/v1/cases", priority="normal") == ["k2", "k1"]
        assert world.names("/v1/cases", priority="high") == ["k3"]
        assert world.names("/v1/cases", agent="sam") == ["k3", "k4"]
        assert world.names("/v1/cases", status="resolved") == ["k4"]
        assert world.get("/v1/cases", limit=2, offset=1)["total"] == 5
        k3 = world.get(f"/v1/cases/{world.ids['k3']}")
        assert (k3["status"], k3["agent"], k3["contact_name"], k3["subject"]) == (
            "open",
            "sam",
            "Ada Byron",
            "Cannot log in",
        )


class TestCampaigns:
    def test_campaigns_count_sends_and_responses_per_type(self, world: World) -> None:
        spring = world.get(f"/v1/campaigns/{world.ids['spring']}")
        assert (spring["status"], spring["sent_count"], spring["responses_total"]) == ("running", 2, 3)
        assert spring["responses"] == {
            "opened": 2,
            "clicked": 1,
            "replied": 0,
            "registered": 0,
            "attended": 0,
            "converted": 0,
            "unsubscribed": 0,
        }
        assert spring["audience"]["tags_any"] == ["trial"]
        assert world.names("/v1/campaigns") == ["draft", "spring"]
        assert world.names("/v1/campaigns", status="draft") == ["draft"]


class TestProblems:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/contacts/{id}/timeline",
            "/v1/accounts/{id}",
            "/v1/pipelines/{id}",
            "/v1/deals/{id}",
            "/v1/deals/board?pipeline_id={id}",
            "/v1/cases/{id}",
            "/v1/campaigns/{id}",
        ],
    )
    def test_unknown_ids_are_not_found(self, world: World, path: str) -> None:
        answer = world.client.get(path.format(id=uuid.uuid4()))
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "not_found"

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/contacts?min_score=50&max_score=10",
            "/v1/contacts?lifecycle_stage=bogus",
            "/v1/contacts?limit=0",
            "/v1/contacts?limit=501",
            "/v1/contacts?offset=-1",
            "/v1/contacts/duplicates?reason=hair",
            "/v1/contacts/not-a-uuid/timeline",
            "/v1/deals?status=maybe",
            "/v1/deals?stage=Not%20A%20Key",
            "/v1/deals/board",
            "/v1/cases?priority=huge",
            "/v1/cases?breached=perhaps",
            "/v1/campaigns?status=paused",
        ],
    )
    def test_bad_filters_are_validation_errors(self, world: World, path: str) -> None:
        answer = world.client.get(path)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "validation_error"
