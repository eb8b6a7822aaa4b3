"""One active member per consumer group, the others hot standbys: the partition assignor.

Why one member owns everything: a window's verdict is a statistic over every
event of the model's topics. Until partial windows are merged across members
(issue 17), a member that judges a share of the partitions issues partial
verdicts and extra alerts, and a member that takes over a partition whose
windows it already closed on its own partitions rejects that partition's
valid events as late. With every partition on one member, the member's whole
engine state (all streams' windows, watermarks, closed-window floors, tier
history) is one checkpoint, and it moves as a whole: the next active member
restores exactly the state the previous one checkpointed on revoke, so no
event is late because of a move and nothing is counted twice or lost.

The assignment is sticky: each member says in its subscription's user data in
which generation it was last active; the leader gives every partition of the
subscribed topics to the member that was active most recently, or, when none
was (a fresh group, the active member died), to the member with the lowest
member id. Joining standbys therefore never move partitions away from a working
active member; they only shorten failover (the group rebalances as soon as the
active member leaves or its session expires, and a standby restores the last
checkpoint). Each member's assignment carries its role and the active member's
id in its user data, so a standby knows it is one and who is active.

Eager protocol only: every rebalance revokes everything first, which the
consumer loop relies on (`monitor.kafka.consumer`). All members of a group must run
this assignor: the broker refuses a member whose protocols share none with the
group's (`INCONSISTENT_GROUP_PROTOCOL`), so a version that used the range or
round-robin assignors cannot share a group with this one (the chart's
Deployment uses `Recreate`; see docs/scaling.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import structlog
from kafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

log = structlog.get_logger(__name__)

ASSIGNOR_NAME: Final = "driftwarden-active-standby"
_VERSION: Final = 0
_USER_DATA_FORMAT: Final = 1

Role = Literal["active", "standby"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the leader knows of one member when it assigns."""

    member_id: str
    topics: frozenset[str]
    active_generation: int | None  # last generation this member was active in


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """One member's part of an assignment, as it learns it."""

    role: Role
    active_member: str
    generation: int
    members: int


def choose_active(candidates: Sequence[Candidate]) -> Candidate:
    """The member that keeps or gets every partition: the most recently active one,
    else the lowest member id (every leader picks the same from the same members)."""
    if not candidates:
        raise ValueError("a group has at least one member")
    return min(
        candidates,
        key=lambda c: (
            -(c.active_generation if c.active_generation is not None else -1),
            c.member_id,
        ),
    )


def plan(
    candidates: Sequence[Candidate], partitions: dict[str, Iterable[int]]
) -> tuple[Candidate, dict[str, dict[str, list[int]]]]:
    """The active member and each member's `{topic: [partition]}` (empty for standbys).

    A topic the active member does not subscribe to (members configured with
    different topics, a mistake) goes whole to the first subscriber in the same
    order, so no partition is left unread.
    """
    active = choose_active(candidates)
    ordered = sorted(
        candidates,
        key=lambda c: (
            c.member_id != active.member_id,
            -(c.active_generation if c.active_generation is not None else -1),
            c.member_id,
        ),
    )
    out: dict[str, dict[str, list[int]]] = {c.member_id: {} for c in candidates}
    for topic, parts in sorted(partitions.items()):
        owner = next((c for c in ordered if topic in c.topics), None)
        if owner is None:
            continue
        if owner.member_id != active.member_id:
            log.warning(
                "topic_not_subscribed_by_active_member",
                topic=topic,
                active_member=active.member_id,
                owner=owner.member_id,
                hint="give every member of the group the same kafka.topics",
            )
        out[owner.member_id][topic] = sorted(parts)
    return active, out


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps({"format": _USER_DATA_FORMAT, **doc}, separators=(",", ":")).encode()


def _decode(data: Any) -> dict[str, Any]:
    """User data of another member; anything unreadable counts as nothing claimed."""
    if not isinstance(data, bytes | bytearray | memoryview) or not data:
        return {}
    try:
        doc = json.loads(bytes(data))
    except ValueError:
        return {}
    if not isinstance(doc, dict) or doc.get("format") != _USER_DATA_FORMAT:
        return {}
    return doc


class ActiveStandbyAssignor(AbstractPartitionAssignor):  # type: ignore[misc]
    """kafka-python assignor: every partition to one member, sticky (module docstring).

    One instance per consumer: it remembers the generation in which this member
    was last active, advertises it when the member rejoins, and keeps the role
    of the last assignment for the consumer loop (`last`). kafka-python calls
    it on its IO thread while the loop's thread waits in `poll()`.
    """

    name = ASSIGNOR_NAME
    version = _VERSION

    def __init__(self) -> None:
        self._active_generation: int | None = None
        self.last: RoleAssignment | None = None

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolSubscription:
        claim = {"active_generation": self._active_generation}
        return ConsumerProtocolSubscription(self.version, sorted(topics), _encode(claim))

    def assign(self, cluster: Any, members: Sequence[Any]) -> dict[str, ConsumerProtocolAssignment]:
        candidates = []
        for member in members:
            claim = _decode(member.metadata.user_data).get("active_generation")
            candidates.append(
                Candidate(
                    member_id=str(member.member_id),
                    topics=frozenset(member.metadata.topics),
                    active_generation=claim if isinstance(claim, int) else None,
                )
            )
        partitions: dict[str, Iterable[int]] = {}
        for topic in sorted({t for c in candidates for t in c.topics}):
            found = cluster.partitions_for_topic(topic)
            if found is None:
                log.warning("topic_metadata_missing", topic=topic)
                continue
            partitions[topic] = found
        active, by_member = plan(candidates, partitions)
        out = {}
        for c in candidates:
            role: Role = "active" if c.member_id == active.member_id else "standby"
            data = _encode({"role": role, "active": active.member_id, "members": len(candidates)})
            out[c.member_id] = ConsumerProtocolAssignment(
                self.version, sorted(by_member[c.member_id].items()), data
            )
        return out

    def on_assignment(self, assignment: Any, generation: int) -> None:
        doc = _decode(assignment.user_data)
        role: Role
        if doc.get("role") == "active":
            role = "active"
        elif doc.get("role") == "standby":
            role = "standby"
        else:
            # Not from this assignor (cannot happen within one protocol): judge by
            # whether anything was assigned.
            role = "active" if assignment.partitions() else "standby"
        self.last = RoleAssignment(
            role=role,
            active_member=str(doc.get("active", "")),
            generation=int(generation),
            members=int(doc.get("members", 0)),
        )
        self._active_generation = int(generation) if role == "active" else None

    def forget_active(self) -> None:
        """Membership was lost: another member may be active now; claim nothing."""
        self._active_generation = None
        self.last = None
