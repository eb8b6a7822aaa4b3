"""The librdkafka group consumer, behind the surface the consumer loop uses of kafka-python.

`monitor.consumer.ConsumerLoop` drives a kafka-python `KafkaConsumer`: `subscribe`
with a rebalance listener, `poll` returning `{partition: [record]}`, `seek`,
`commit`, `pause`/`resume`, `position`, `highwater`, `end_offsets`,
`partitions_for_topic`, `close`. `RdKafkaConsumer` offers exactly that over
confluent-kafka, so the loop, its checkpoint-before-commit order and its tests
stay one piece of code for both clients.

Same semantics, by construction:

- Rebalance callbacks run on the loop's own thread inside `poll()` or `close()`,
  as with kafka-python, so the processor never sees two threads. The loop's
  listener is `async`; its coroutines finish without waiting (the commit it
  awaits on revocation is a synchronous librdkafka commit, which librdkafka
  allows inside the callback), so they are run to completion here.
- Seeks made in the assignment callback become the start offsets of the
  `assign()` that ends it (librdkafka cannot seek a partition not yet assigned);
  partitions without one start at the committed offset or `auto.offset.reset`.
- Records carry Kafka's timestamp (milliseconds) and leader epoch; offsets are
  committed with the epoch, the next offset to read, as kafka-python does.

What it cannot do: run the active/standby assignor. librdkafka's assignors
(range, roundrobin, cooperative-sticky) are built in, and neither librdkafka's
public API nor confluent-kafka lets an application add one (pluggable assignors
are an open librdkafka feature request, #2284). Overriding the group's choice by
assigning oneself every partition in the assignment callback was rejected: two
members that each believe themselves active during a rebalance would both count. A range or sticky
assignment spreads the partitions over the members, and a member that judges a
share of a model's partitions issues partial verdicts (docs/scaling.md). So a
librdkafka member runs alone in its group, and makes that safe:

1. before joining it asks the brokers for the group's members and waits up to
   one session timeout for them to go (a member killed a moment ago); if any
   stay, it refuses to start, naming the fix, and the running member is never
   disturbed;
2. if it is assigned less than every partition of its topics anyway (two
   members passed that check at the same instant), the member that never held
   every partition refuses at once, before the loop is told of a partition (so it
   counted, checkpointed, committed and published nothing), and leaves the group.
   A member that held every partition before this rebalance is the one that may
   have counted: it keeps its state, fetches nothing of the share (`assign([])`)
   and waits up to `SHARE_WAIT_SESSIONS` session timeouts for the newcomer to
   leave; the next rebalance gives it every partition back and it goes on from its
   in-memory positions, exactly. Refusing it instead (as before) lost events: its
   revocation (or a checkpoint interval) had committed offsets whose counts lived
   only in its own checkpoint directory, and the member left counting, with another
   directory, started after them (windows it had read but not closed were never
   closed by anyone). Only a member that stays past the wait (not a driftwarden member, which
   refuses at once) makes it refuse too; its commits then match its own last
   checkpoint, as at any stop, and a restart with its work directory (or a
   `checkpoint.backend: kafka` successor) resumes exactly.

The checkpoint topic and the alert-state store keep their kafka-python clients:
they read and write a few records per interval, where the library's speed does
not matter, and their code stays one tested path.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import operator
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, NamedTuple, overload

import structlog
from kafka.errors import InconsistentGroupProtocolError

from driftwarden.monitor.errors import ConfigError, SourceError
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.rdkafka_config import (
    admin_config,
    consumer_config,
    require_confluent_kafka,
)

log = structlog.get_logger(__name__)

Partition = tuple[str, int]

OFFSET_UNSET: Final = -1001
"""librdkafka's OFFSET_INVALID: start at the committed offset, else auto.offset.reset."""

GROUP_CHECK_POLL: Final = 0.5
"""Seconds between two looks at the group's members while waiting for them to go."""

SHARE_WAIT_SESSIONS: Final = 2
"""Session timeouts a member that held every partition waits, offered a share, for the
member that joined to leave: a refusing driftwarden member leaves within seconds, and
one that crashed instead is expelled after one session timeout."""


class TopicPartitionKey(NamedTuple):
    """The key of `poll()`'s result, as kafka-python's `TopicPartition`."""

    topic: str
    partition: int


class RdRecord(NamedTuple):
    """One record, with the attributes of kafka-python's `ConsumerRecord` the daemon reads.

    Built only when a record is asked for by itself (`RdRun[i]`): the loop reads a
    run's first and last record, the dead-letter sink a rejected one's offset. The
    key, headers and leader epoch are read from the message when asked.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int  # milliseconds since the epoch (Kafka's record timestamp)
    value: bytes | None
    message: Any  # the confluent_kafka.Message

    @property
    def key(self) -> bytes | None:
        return self.message.key()  # type: ignore[no-any-return]

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]:
        return self.message.headers() or ()

    @property
    def leader_epoch(self) -> int:
        epoch = self.message.leader_epoch()
        return -1 if epoch is None else int(epoch)


_error = operator.methodcaller("error")
_topic = operator.methodcaller("topic")
_partition = operator.methodcaller("partition")
_timestamp = operator.methodcaller("timestamp")
_value = operator.methodcaller("value")
_millis = operator.itemgetter(1)  # timestamp() is (type, milliseconds)


def _record(message: Any) -> RdRecord:
    return RdRecord(
        message.topic(),
        message.partition(),
        message.offset(),
        message.timestamp()[1],
        message.value(),
        message,
    )


class RdRun(Sequence[RdRecord]):
    """One partition's messages from one poll, in offset order (a `WholeRun`).

    The daemon takes a run whole: its values and timestamps, one C-level call per
    message each (`values`, `timestamps`), with no Python object per record (a
    tuple per record cost 1.2 µs; docs/benchmarks.md, "Kafka client libraries").
    Indexing builds an `RdRecord`.
    """

    __slots__ = ("_messages", "partition", "topic")

    def __init__(self, topic: str, partition: int, messages: list[Any]) -> None:
        self.topic = topic
        self.partition = partition
        self._messages = messages

    def __len__(self) -> int:
        return len(self._messages)

    @overload
    def __getitem__(self, index: int) -> RdRecord: ...

    @overload
    def __getitem__(self, index: slice) -> RdRun: ...

    def __getitem__(self, index: int | slice) -> RdRecord | RdRun:
        if isinstance(index, slice):
            return RdRun(self.topic, self.partition, self._messages[index])
        return _record(self._messages[index])

    def __iter__(self) -> Iterator[RdRecord]:
        return map(_record, self._messages)

    def values(self) -> list[bytes | None]:
        return list(map(_value, self._messages))

    def timestamps(self) -> list[int]:
        return list(map(_millis, map(_timestamp, self._messages)))


def runs(messages: list[Any], *, topic: str | None = None) -> dict[TopicPartitionKey, RdRun]:
    """Error-free messages as one run per partition, each in offset order.

    `topic`: the only topic subscribed, so partitions alone tell the runs apart."""
    if not messages:
        return {}
    if topic is None:
        keys: list[Any] = list(zip(map(_topic, messages), map(_partition, messages), strict=True))
    else:
        keys = list(map(_partition, messages))
    out: dict[TopicPartitionKey, RdRun] = {}
    start = 0
    for key, same in itertools.groupby(keys):
        stop = start + len(list(same))
        t, p = key if topic is None else (topic, key)
        found = out.get(TopicPartitionKey(t, p))
        if found is None:
            out[TopicPartitionKey(t, p)] = RdRun(t, p, messages[start:stop])
        else:  # a partition's messages around another's: still in offset order
            found._messages.extend(messages[start:stop])
        start = stop
    return out


def run_to_completion(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine that never waits (the loop's rebalance listener here)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("a rebalance callback waited for something; it must not")


class LibrdkafkaLog:
    """librdkafka's own log lines as structlog events (confluent-kafka's `logger`)."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        message = fmt % args if args else fmt
        log.log(max(level, 10), "librdkafka_logged", message=message)


class RdKafkaConsumer:
    """A confluent-kafka `Consumer` with the kafka-python surface the loop uses."""

    def __init__(
        self,
        client: KafkaClientConfig,
        *,
        consumer_factory: Callable[[dict[str, Any]], Any] | None = None,
        admin_factory: Callable[[dict[str, Any]], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        ck = require_confluent_kafka()
        self._ck = ck
        self._client = client
        self._settings = client.settings
        self._admin_factory = (
            admin_factory or importlib.import_module("confluent_kafka.admin").AdminClient
        )
        self._clock = clock
        self._sleep = sleep
        self._max_records = self._settings.max_poll_records
        config = consumer_config(client)
        config["error_cb"] = self._on_error
        config["logger"] = LibrdkafkaLog()
        self._consumer: Any = (consumer_factory or ck.Consumer)(config)
        self._listener: Any = None
        self._topics: list[str] = []
        self._given: set[Partition] = set()  # what the loop was told it owns
        # The loop holds the state of every partition: it was given a whole
        # assignment and lost none since (module docstring, point 2).
        self._holds_all = False
        self._share_since: float | None = None  # offered a share while holding all
        self._share = 0  # partitions in that share
        self._paused: set[Partition] = set()
        self._in_assign = False
        self._seeks: dict[Partition, int] = {}
        self._group_error: BaseException | None = None
        self._highwaters: dict[Partition, int | None] = {}  # until the next poll()
        # Topic partitions as last read outside a callback (`_expected`).
        self._known_partitions: dict[str, set[int]] = {}
        try:
            # kafka-python connects in its constructor; fail the start the same way.
            self._consumer.list_topics(timeout=self._settings.bootstrap_timeout)
        except Exception:
            # librdkafka's logs and errors are delivered in poll(): say why it failed.
            with contextlib.suppress(Exception):
                self._consumer.poll(0)
            self._consumer.close()
            raise

    # --- group membership -------------------------------------------------------------

    def subscribe(self, *, topics: list[str], listener: Any) -> None:
        self._wait_for_empty_group()
        self._topics = list(topics)
        self._listener = listener
        self._consumer.subscribe(
            self._topics,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def _wait_for_empty_group(self) -> None:
        """Join only an empty group (module docstring, point 1)."""
        s = self._settings
        admin = self._admin_factory(admin_config(self._client))
        deadline = self._clock() + s.session_timeout + 2 * GROUP_CHECK_POLL
        others: list[str] = []
        while True:
            others = self._other_members(admin)
            if not others or self._clock() >= deadline:
                break
            log.info("group_has_members_waiting", group=s.group_id, members=len(others))
            self._sleep(GROUP_CHECK_POLL)
        if others:
            raise ConfigError(
                f"consumer group {s.group_id!r} already has {len(others)} member(s) "
                f"({', '.join(sorted(others)[:3])}); kafka.client librdkafka runs one member "
                "per group, because librdkafka cannot run the active/standby assignor: run "
                "one replica (chart: replicaCount 1), give this member its own "
                "kafka.group_id, or use kafka.client: kafka-python for hot standbys"
            )

    def _other_members(self, admin: Any) -> list[str]:
        s = self._settings
        timeout = min(s.request_timeout, 10.0)
        try:
            futures = admin.describe_consumer_groups([s.group_id], request_timeout=timeout)
            description = futures[s.group_id].result(timeout=timeout)
        except Exception as exc:
            # Cannot tell (no describe ACL, say): the assignment check still guards.
            log.warning("group_members_unknown", group=s.group_id, error=str(exc))
            return []
        return [
            str(m.member_id)
            for m in description.members
            if s.group_instance_id is None or m.group_instance_id != s.group_instance_id
        ]

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        assigned = {(str(tp.topic), int(tp.partition)) for tp in partitions}
        expected = self._expected()
        if not expected <= assigned:
            self._decline_share(len(assigned), len(expected))
            return
        self._share_since = None
        self._seeks = {}
        self._in_assign = True
        try:
            run_to_completion(self._listener.on_partitions_assigned(list(partitions)))
        finally:
            self._in_assign = False
        tp_class = self._ck.TopicPartition
        start = [tp_class(t, p, self._seeks.get((t, p), OFFSET_UNSET)) for t, p in sorted(assigned)]
        self._consumer.assign(start)
        self._paused &= assigned
        held = [tp_class(t, p) for t, p in sorted(self._paused)]
        if held:
            self._consumer.pause(held)
        self._given = assigned
        self._holds_all = True

    def _expected(self) -> set[Partition]:
        """Every partition of the topics, as last read outside any callback.

        The loop reads every topic's metadata before its first poll. Never asked of
        the broker here: confluent-kafka's `list_topics` ends its own call state, so
        called from this callback it clears that of the `consume()` running it, and
        the next callback of that `consume()` aborts the process
        (`CallState_get: Assertion cs != NULL`)."""
        expected: set[Partition] = set()
        for topic in self._topics:
            expected.update((topic, p) for p in self._known_partitions.get(topic, ()))
        return expected

    def _decline_share(self, assigned: int, expected: int) -> None:
        """A share of the topics (module docstring, point 2): refuse it at once if the
        loop holds no state, else fetch none of it and wait for the newcomer to go."""
        if not self._holds_all:
            raise self._refusal(assigned, expected)
        self._consumer.assign([])
        self._share = assigned
        if self._share_since is None:
            self._share_since = self._clock()
            log.warning(
                "partition_share_declined",
                group=self._settings.group_id,
                assigned=assigned,
                partitions=expected,
                waiting=SHARE_WAIT_SESSIONS * self._settings.session_timeout,
            )

    def _refusal(self, assigned: int, expected: int, waited: float | None = None) -> ConfigError:
        after = "" if waited is None else f" and the other member stayed {waited:.0f}s"
        return ConfigError(
            f"consumer group {self._settings.group_id!r} has another member: this one "
            f"was assigned {assigned} of {expected} partitions{after}; "
            "kafka.client librdkafka runs one member per group (librdkafka cannot run "
            "the active/standby assignor): run one replica (chart: replicaCount 1) or "
            "use kafka.client: kafka-python for hot standbys"
        )

    def _check_share_wait(self) -> None:
        """Refuse once a member offered a share waited out `SHARE_WAIT_SESSIONS`."""
        if self._share_since is None:
            return
        waited = self._clock() - self._share_since
        if waited >= SHARE_WAIT_SESSIONS * self._settings.session_timeout:
            raise self._refusal(self._share, len(self._expected()), waited)

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        revoked = [tp for tp in partitions if (tp.topic, tp.partition) in self._given]
        if revoked:
            run_to_completion(self._listener.on_partitions_revoked(revoked))
        self._given -= {(tp.topic, tp.partition) for tp in partitions}
        # librdkafka unassigns after this callback returns.

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        lost = [tp for tp in partitions if (tp.topic, tp.partition) in self._given]
        if lost:
            run_to_completion(self._listener.on_partitions_lost(lost))
        self._given -= {(tp.topic, tp.partition) for tp in partitions}
        # Out of the group: a member may have joined and counted meanwhile.
        self._holds_all = False

    def _on_error(self, error: Any) -> None:
        """librdkafka's error callback: most errors are retried inside librdkafka."""
        code = error.code()
        if code == self._ck.KafkaError.INCONSISTENT_GROUP_PROTOCOL:
            self._group_error = InconsistentGroupProtocolError(str(error))
        elif error.fatal():
            self._group_error = SourceError(
                f"librdkafka stopped the consumer of {self._topics}: {error.str()}; "
                "check the brokers and the kafka settings"
            )
        else:
            log.warning("kafka_client_error", error=error.str(), code=error.name())

    # --- reading ----------------------------------------------------------------------

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartitionKey, RdRun]:
        messages = self._consumer.consume(
            num_messages=self._max_records, timeout=max(0.0, timeout_ms / 1000)
        )
        self._raise_group_error()
        self._check_share_wait()
        self._highwaters.clear()
        if any(map(_error, messages)):
            good = []
            for message in messages:
                error = message.error()
                if error is None:
                    good.append(message)
                else:
                    self._on_message_error(error)
            messages = good
        return runs(messages, topic=self._topics[0] if len(self._topics) == 1 else None)

    def _on_message_error(self, error: Any) -> None:
        if error.code() == self._ck.KafkaError._PARTITION_EOF:
            return
        self._on_error(error)
        self._raise_group_error()

    def _raise_group_error(self) -> None:
        error, self._group_error = self._group_error, None
        if error is not None:
            raise error

    def seek(self, tp: Any, offset: int) -> None:
        partition = (str(tp.topic), int(tp.partition))
        if self._in_assign:
            self._seeks[partition] = int(offset)
            return
        self._consumer.seek(self._ck.TopicPartition(partition[0], partition[1], int(offset)))

    def pause(self, *tps: Any) -> None:
        partitions = {(str(tp.topic), int(tp.partition)) for tp in tps}
        self._paused |= partitions
        if self._in_assign or self._share_since is not None:
            return  # paused right after the assign() that ends the (next) callback
        self._consumer.pause([self._ck.TopicPartition(t, p) for t, p in sorted(partitions)])

    def resume(self, *tps: Any) -> None:
        partitions = {(str(tp.topic), int(tp.partition)) for tp in tps}
        self._paused -= partitions
        if self._share_since is not None:
            return  # nothing assigned to resume: the next whole assignment is not paused
        self._consumer.resume([self._ck.TopicPartition(t, p) for t, p in sorted(partitions)])

    def paused(self) -> set[TopicPartitionKey]:
        """Every partition the loop paused and has not resumed, assigned at the moment
        or not: while a share is declined nothing is assigned, and a resume the loop
        could not make then would leave the partitions paused at the next assignment."""
        return {TopicPartitionKey(t, p) for t, p in self._paused}

    # --- offsets ----------------------------------------------------------------------

    def commit(self, offsets: Mapping[Any, Any], timeout_ms: int | None = None) -> None:
        """Commit `{partition: OffsetAndMetadata}` and wait (librdkafka's synchronous
        commit is bounded by the socket timeout, `kafka.request_timeout`)."""
        tp_class = self._ck.TopicPartition
        tps = []
        for tp, meta in offsets.items():
            epoch = getattr(meta, "leader_epoch", -1)
            if isinstance(epoch, int) and epoch >= 0:
                tps.append(
                    tp_class(str(tp.topic), int(tp.partition), int(meta.offset), leader_epoch=epoch)
                )
            else:  # confluent-kafka takes no None for an unknown epoch
                tps.append(tp_class(str(tp.topic), int(tp.partition), int(meta.offset)))
        result = self._consumer.commit(offsets=tps, asynchronous=False)
        failed = [tp for tp in result or () if tp.error is not None]
        if failed:
            raise SourceError(
                f"offset commit refused for {len(failed)} partition(s), first "
                f"{failed[0].topic}[{failed[0].partition}]: {failed[0].error}"
            )

    async def commit_async(self, offsets: Mapping[Any, Any]) -> None:
        """The loop's listener awaits this on revocation; it commits synchronously."""
        self.commit(offsets)

    def position(self, tp: Any, timeout_ms: int = 1000) -> int | None:
        """The next offset this member will read from `tp`, as kafka-python's `position`.

        Before the first record librdkafka knows no position; then it is what the
        fetch starts from: the committed offset, else `auto.offset.reset`."""
        ck = self._ck
        key = ck.TopicPartition(str(tp.topic), int(tp.partition))
        timeout = max(0.001, timeout_ms / 1000)
        (known,) = self._consumer.position([key])
        if known.offset >= 0:
            return int(known.offset)
        (committed,) = self._consumer.committed([key], timeout=timeout)
        if committed.error is None and committed.offset >= 0:
            return int(committed.offset)
        low, high = self._consumer.get_watermark_offsets(key, timeout=timeout)
        chosen = low if self._settings.auto_offset_reset == "earliest" else high
        return int(chosen) if chosen >= 0 else None

    def highwater(self, tp: Any) -> int | None:
        """The end offset librdkafka last learnt from a fetch (no request).

        Kept until the next `poll()`: the loop asks twice per partition and turn (idle
        check, lag), and each call releases and retakes the GIL, which cost ~2 ms per
        call under load in the profile (docs/benchmarks.md, "Kafka client libraries")."""
        partition = (str(tp.topic), int(tp.partition))
        if partition in self._highwaters:
            return self._highwaters[partition]
        key = self._ck.TopicPartition(partition[0], partition[1])
        try:
            _, high = self._consumer.get_watermark_offsets(key, cached=True)
        except Exception:
            return None
        known = int(high) if high is not None and high >= 0 else None
        self._highwaters[partition] = known
        return known

    def end_offsets(self, tps: Iterable[Any], timeout_ms: int = 5000) -> dict[Any, int]:
        """Ask the brokers for the end offset of each partition (raises when they do not answer)."""
        timeout = max(0.001, timeout_ms / 1000)
        out: dict[Any, int] = {}
        for tp in tps:
            key = self._ck.TopicPartition(str(tp.topic), int(tp.partition))
            _, high = self._consumer.get_watermark_offsets(key, timeout=timeout)
            out[TopicPartitionKey(str(tp.topic), int(tp.partition))] = int(high)
        return out

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        timeout = min(self._settings.request_timeout, 5.0)
        metadata = self._consumer.list_topics(topic, timeout=timeout)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            return None
        partitions = self._known_partitions[topic] = {int(p) for p in found.partitions}
        return partitions

    def close(self, autocommit: bool = False, timeout_ms: int | None = None) -> None:
        """Leave the group; the revocation callback runs first (loop's checkpoint path).

        Offsets are never committed here (`autocommit` is kafka-python's; always off)."""
        self._consumer.close()
