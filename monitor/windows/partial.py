"""One member's share of a window, as published to the partials topic (issue 17).

In `group.mode: partitioned` each member counts its partitions into window
states; when a window closes on a member it publishes one `Partial`: the
merged state of the partitions that had events in the window (`sources`),
and, for every partition the member holds, how far its windows are final
(`progress`: every window below that key is closed for the partition, on this
member or an earlier owner, and its share is published at or before this
record; a member that closes several windows at once raises the progress of
each record only to its own window, and the last to the whole step's). The
merger (`monitor.windows.merge_book`) merges a window once every partition of
the topics has progressed past it.

Why the record key holds the source partitions: a partition's share of a
window is a function of that partition's records alone (its own watermark
decides what is late), so a member that re-closes a window after a crash, from
the last checkpoint, publishes the same share under the same key and replaces
the first record, never adds to it. A different owner may group the same
partitions differently (more or fewer of them); the merger then picks
partials whose sources do not overlap (`exact_cover`), and every such choice
has the same counts.

A `Partial` with no state and no sources only reports progress: a member
whose partitions had no event in the windows it just closed still tells the
merger they are final.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.windows.window import WindowState

Source = tuple[str, int]
"""(topic, partition) of the input topics."""

_FORMAT: Final = 2
"""2: window states with exact integer sums (window state format 2)."""


@dataclass(frozen=True, slots=True)
class Partial:
    """One member's share of one window of one model (module docstring)."""

    model_id: str
    key: int
    sources: frozenset[Source]
    progress: Mapping[Source, int]
    state: WindowState | None
    watermarks: Mapping[Source, float]
    member: str = ""
    created_at: float = 0.0

    @property
    def reports_progress_only(self) -> bool:
        return self.state is None

    def record_key(self) -> bytes:
        """The compaction key: replacing a record means the same share (module docstring)."""
        if self.state is None:
            return msgspec.msgpack.encode(["progress", self.model_id, _sorted(self.progress)])
        return msgspec.msgpack.encode(["partial", self.model_id, self.key, _sorted(self.sources)])

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {
            "format": _FORMAT,
            "kind": "partial",
            "model_id": self.model_id,
            "key": self.key,
            "sources": _sorted(self.sources),
            "progress": [[t, p, k] for (t, p), k in sorted(self.progress.items())],
            "watermarks": [[t, p, w] for (t, p), w in sorted(self.watermarks.items())],
            "member": self.member,
            "created_at": self.created_at,
            "state": self.state.to_bytes() if self.state is not None else None,
        }
        return msgspec.msgpack.encode(doc)


@dataclass(frozen=True, slots=True)
class MergedMarker:
    """What the merger of a model has evaluated: windows below `merged_below` are done.

    `evaluator` is the model's evaluator state (tier history) after that window,
    so the next merger continues the same history.
    """

    model_id: str
    merged_below: int
    evaluator: Mapping[str, Any]

    def record_key(self) -> bytes:
        return marker_key(self.model_id)

    def to_bytes(self) -> bytes:
        doc = {
            "format": _FORMAT,
            "kind": "merged",
            "model_id": self.model_id,
            "merged_below": self.merged_below,
            "evaluator": dict(self.evaluator),
        }
        return msgspec.msgpack.encode(doc)


def marker_key(model_id: str) -> bytes:
    return msgspec.msgpack.encode(["merged", model_id])


def decode_record(data: bytes) -> Partial | MergedMarker:
    """A partials-topic value; `CheckpointError` names what is wrong with it."""
    try:
        doc = msgspec.msgpack.decode(data)
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise CheckpointError(
                "partials topic record has an unknown format; it was written by another "
                "driftwarden version: give this version its own group.partials_topic"
            )
        if doc["kind"] == "merged":
            return MergedMarker(
                model_id=str(doc["model_id"]),
                merged_below=int(doc["merged_below"]),
                evaluator=dict(doc["evaluator"]),
            )
        raw = doc["state"]
        return Partial(
            model_id=str(doc["model_id"]),
            key=int(doc["key"]),
            sources=frozenset((str(t), int(p)) for t, p in doc["sources"]),
            progress={(str(t), int(p)): int(k) for t, p, k in doc["progress"]},
            watermarks={(str(t), int(p)): float(w) for t, p, w in doc["watermarks"]},
            member=str(doc["member"]),
            created_at=float(doc["created_at"]),
            state=WindowState.from_bytes(raw) if raw is not None else None,
        )
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"partials topic record is unreadable: {exc}") from None


def partition_for(model_id: str, partitions: int) -> int:
    """The partials-topic partition of a model: every record of a model lands in one
    partition, so its merger reads them in the order each member wrote them."""
    digest = hashlib.sha256(model_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % partitions


def _sorted(sources: Iterable[Source]) -> list[list[Any]]:
    return [[t, p] for t, p in sorted(sources)]
