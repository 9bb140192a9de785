"""Kafka is at least once: a relay that crashed before recording its position sends its
last batch again, several versions of one aggregate included. Those repeats are not
findings; a real reorder or an altered repeat still is."""

from domain.integrity import GENESIS, chain_hash
from replay.verify import Link, verify


def chain(n: int) -> list[Link]:
    links, previous = [], GENESIS
    for version in range(1, n + 1):
        form = f"event {version}".encode()
        digest = chain_hash(previous, form)
        links.append(Link(version, "a", version, form, digest, previous))
        previous = digest
    return links


def test_a_batch_of_several_versions_sent_again_is_not_a_finding():
    e1, e2, e3 = chain(3)
    verdict = verify([e1, e2, e1, e2, e3])
    assert verdict.clean, verdict.findings
    assert verdict.checked == 3


def test_an_event_out_of_order_is_still_reordered():
    e1, e2, e3 = chain(3)
    verdict = verify([e1, e3, e2])
    assert {f.kind for f in verdict.findings} >= {"reordered"}


def test_an_earlier_version_sent_again_with_other_content_is_a_finding():
    e1, e2, e3 = chain(3)
    forged = Link(9, "a", 1, b"forged", chain_hash(GENESIS, b"forged"), GENESIS)
    verdict = verify([e1, e2, forged, e3])
    assert [f.kind for f in verdict.findings] == ["reordered"]
