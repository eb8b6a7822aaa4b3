"""The active/standby assignor: every partition to one member, and that member keeps them.

Members and the wire format are kafka-python's own (`ConsumerProtocolSubscription`,
`ConsumerProtocolAssignment`, encoded and decoded as the group protocol carries
them); the real broker runs the assignor in tests/integration/test_daemon_group.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

from driftwarden.monitor.kafka.active_standby import (
    ASSIGNOR_NAME,
    ActiveStandbyAssignor,
    Candidate,
    choose_active,
    plan,
)

TOPICS = {"events": 12, "more": 3}


class FakeCluster:
    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        n = self.sizes.get(topic)
        return None if n is None else set(range(n))


@dataclass
class Member:
    """A JoinGroup response member as the leader's assignor receives it."""

    member_id: str
    metadata: Any
    group_instance_id: str | None = None


def _join(member_id: str, assignor: ActiveStandbyAssignor, topics: set[str]) -> Member:
    wire = assignor.metadata(topics).encode()  # as sent in JoinGroup and handed to the leader
    return Member(member_id, ConsumerProtocolSubscription.decode(wire))


def _deliver(
    assignment: ConsumerProtocolAssignment, assignor: ActiveStandbyAssignor, generation: int
) -> ConsumerProtocolAssignment:
    received = ConsumerProtocolAssignment.decode(assignment.encode())
    assignor.on_assignment(received, generation)
    return received


def _rebalance(
    members: dict[str, ActiveStandbyAssignor], generation: int, leader: str | None = None
) -> dict[str, list[tuple[str, int]]]:
    """One generation: every member joins, the leader assigns, each member receives its part."""
    leader_assignor = members[leader] if leader else next(iter(members.values()))
    joined = [_join(m, a, set(TOPICS)) for m, a in members.items()]
    result = leader_assignor.assign(FakeCluster(TOPICS), joined)
    out = {}
    for member_id, assignor in members.items():
        received = _deliver(result[member_id], assignor, generation)
        out[member_id] = sorted((str(tp.topic), int(tp.partition)) for tp in received.partitions())
    return out


ALL = sorted((t, p) for t, n in TOPICS.items() for p in range(n))


def test_every_partition_of_every_topic_goes_to_one_member_and_the_others_stand_by() -> None:
    members = {m: ActiveStandbyAssignor() for m in ("m-b", "m-a", "m-c")}
    assigned = _rebalance(members, generation=1)
    assert assigned == {"m-a": ALL, "m-b": [], "m-c": []}  # lowest member id in a fresh group
    roles = {m: a.last for m, a in members.items()}
    assert {m: r.role for m, r in roles.items() if r} == {
        "m-a": "active",
        "m-b": "standby",
        "m-c": "standby",
    }
    assert {(r.active_member, r.members) for r in roles.values() if r} == {("m-a", 3)}


def test_the_active_member_keeps_everything_when_members_with_lower_ids_join() -> None:
    members = {"m-5": ActiveStandbyAssignor()}
    assert _rebalance(members, generation=1) == {"m-5": ALL}
    members["m-1"] = ActiveStandbyAssignor()
    members["m-0"] = ActiveStandbyAssignor()
    for leader in members:  # whoever leads decides the same
        assigned = _rebalance(members, generation=2, leader=leader)
        assert assigned == {"m-5": ALL, "m-1": [], "m-0": []}


def test_when_the_active_member_leaves_the_lowest_standby_takes_over_and_then_keeps_it() -> None:
    members = {m: ActiveStandbyAssignor() for m in ("m-3", "m-1", "m-2")}
    _rebalance(members, generation=1)
    del members["m-1"]  # the active member dies
    assert _rebalance(members, generation=2) == {"m-2": ALL, "m-3": []}
    members["m-0"] = ActiveStandbyAssignor()  # a restarted pod joins with a low id
    assert _rebalance(members, generation=3)["m-2"] == ALL


def test_a_stale_claim_loses_to_the_member_active_more_recently() -> None:
    candidates = [
        Candidate("m-0", frozenset(TOPICS), active_generation=4),  # lost its membership
        Candidate("m-9", frozenset(TOPICS), active_generation=7),
        Candidate("m-1", frozenset(TOPICS), active_generation=None),
    ]
    assert choose_active(candidates).member_id == "m-9"


def test_a_member_that_lost_its_membership_claims_nothing_when_it_rejoins() -> None:
    assignor = ActiveStandbyAssignor()
    members = {"m-0": assignor}
    _rebalance(members, generation=3)
    assert b'"active_generation":3' in assignor.metadata({"events"}).user_data
    assignor.forget_active()
    assert assignor.last is None
    assert b'"active_generation":null' in assignor.metadata({"events"}).user_data


def test_unreadable_user_data_counts_as_no_claim() -> None:
    members = [
        Member("m-0", ConsumerProtocolSubscription(0, ["events"], b"\xff not json")),
        Member("m-1", ConsumerProtocolSubscription(0, ["events"], None)),
    ]
    result = ActiveStandbyAssignor().assign(FakeCluster(TOPICS), members)
    assert len(result["m-0"].partitions()) == 12
    assert result["m-1"].partitions() == []


def test_a_topic_the_active_member_does_not_read_still_gets_an_owner() -> None:
    """Members configured with different topics are a mistake, but no partition is left unread."""
    candidates = [
        Candidate("m-0", frozenset({"events"}), active_generation=None),
        Candidate("m-1", frozenset({"events", "more"}), active_generation=None),
    ]
    active, by_member = plan(candidates, {"events": range(2), "more": range(3)})
    assert active.member_id == "m-0"
    assert by_member == {"m-0": {"events": [0, 1]}, "m-1": {"more": [0, 1, 2]}}


def test_the_assignor_is_eager_and_named_for_the_group_protocol() -> None:
    from kafka.coordinator.assignors.abstract import RebalanceProtocol

    assert ActiveStandbyAssignor().supported_protocols() == [RebalanceProtocol.EAGER]
    assert ActiveStandbyAssignor.name == ASSIGNOR_NAME


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(
        st.text("abcdef0123", min_size=1, max_size=6), min_size=1, max_size=6, unique=True
    ),
    claims=st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=6, max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_exactly_one_member_owns_every_partition_whatever_the_join_order(
    ids: list[str], claims: list[int | None], order: Any
) -> None:
    candidates = [Candidate(i, frozenset(TOPICS), c) for i, c in zip(ids, claims, strict=False)]
    partitions = {t: range(n) for t, n in TOPICS.items()}
    active, by_member = plan(candidates, partitions)
    shuffled = list(candidates)
    order.shuffle(shuffled)
    again, by_member_again = plan(shuffled, partitions)
    assert again == active
    assert by_member_again == by_member
    owners = [m for m, parts in by_member.items() if parts]
    assert owners == [active.member_id]
    assert sorted((t, p) for t, ps in by_member[active.member_id].items() for p in ps) == ALL
    claims_made = [c.active_generation for c in candidates if c.active_generation is not None]
    best = max(claims_made, default=None)
    assert active.active_generation == best
