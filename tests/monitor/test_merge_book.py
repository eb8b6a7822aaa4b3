"""The merger's book: a window is merged once, when every partition is covered, exactly."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.monitor.windows.merge_book import MergeBook, exact_cover, merge_states
from driftwarden.monitor.windows.partial import Partial, Source
from driftwarden.monitor.windows.window import WindowState
from tests.monitor.test_window import LAYOUT, random_state

TOPIC = "events"
PARTITIONS = [(TOPIC, p) for p in range(12)]


def same_state(a: WindowState, b: WindowState) -> bool:
    """Every field equal, the exact sums included: merging in any order is exact."""
    return a.to_bytes() == b.to_bytes()


def share(partition: int, key: int = 7) -> WindowState:
    """Partition `partition`'s own counts of window `key` (a function of the partition)."""
    return random_state(1000 * key + partition, key=key)


def partial(
    sources: set[int],
    *,
    key: int = 7,
    progress: dict[int, int] | None = None,
    created_at: float = 0.0,
    member: str = "m1",
) -> Partial:
    state: WindowState | None = None
    for p in sorted(sources):
        state = share(p, key) if state is None else state.merge(share(p, key))
    covered = progress if progress is not None else dict.fromkeys(sources, key + 1)
    return Partial(
        model_id="m",
        key=key,
        sources=frozenset((TOPIC, p) for p in sources),
        progress={(TOPIC, p): k for p, k in covered.items()},
        state=state,
        watermarks={},
        member=member,
        created_at=created_at,
    )


def progress_only(partitions: set[int], below: int) -> Partial:
    return Partial(
        model_id="m",
        key=below - 1,
        sources=frozenset(),
        progress={(TOPIC, p): below for p in partitions},
        state=None,
        watermarks={},
    )


def truth(partitions: range | list[int], key: int = 7) -> WindowState:
    state = WindowState.empty(LAYOUT, key)
    for p in partitions:
        state = state.merge(share(p, key))
    return state


def book() -> MergeBook:
    return MergeBook(PARTITIONS, timeout=600.0)


def test_a_window_waits_until_every_partition_has_progressed_past_it() -> None:
    b = book()
    b.add(partial({0, 1, 2, 3}), now=0.0)
    b.add(partial({4, 5, 6, 7}), now=0.0)
    assert b.ready(now=1.0) == []
    b.add(partial({8, 9, 10, 11}), now=0.0)
    [merged] = b.ready(now=1.0)
    assert merged.complete
    assert same_state(merged.state, truth(range(12)))


def test_a_partition_without_events_is_covered_by_a_progress_record() -> None:
    b = book()
    b.add(partial({0, 1, 2, 3}), now=0.0)
    b.add(partial({4, 5, 6, 7}), now=0.0)
    b.add(progress_only({8, 9, 10, 11}, below=8), now=0.0)
    [merged] = b.ready(now=1.0)
    assert same_state(merged.state, truth(range(8)))


def test_progress_up_to_the_window_itself_does_not_cover_it() -> None:
    b = book()
    b.add(partial(set(range(8))), now=0.0)
    b.add(progress_only({8, 9, 10, 11}, below=7), now=0.0)  # windows below 7 only
    assert b.ready(now=1.0) == []


def test_a_partial_published_again_after_a_crash_replaces_the_first_never_adds() -> None:
    b = book()
    b.add(partial({0, 1, 2, 3}, created_at=1.0), now=0.0)
    b.add(partial({0, 1, 2, 3}, created_at=2.0), now=0.0)  # same key: the same share
    b.add(partial(set(range(4, 12))), now=0.0)
    [merged] = b.ready(now=1.0)
    assert same_state(merged.state, truth(range(12)))
    assert len(merged.record_keys) == 2


def test_a_new_owner_grouping_partitions_differently_is_merged_without_double_counting() -> None:
    """Member X closed partitions 0-3 and died before its checkpoint; Y and Z took 0-1 and
    2-3 from the older checkpoint and closed them again: the book holds both lineages."""
    b = book()
    b.add(partial({0, 1, 2, 3}, created_at=1.0, member="x"), now=0.0)
    b.add(partial({0, 1, 4, 5, 6, 7}, created_at=2.0, member="y"), now=0.0)
    b.add(partial({2, 3, 8, 9, 10, 11}, created_at=3.0, member="z"), now=0.0)
    [merged] = b.ready(now=1.0)
    assert merged.complete
    assert same_state(merged.state, truth(range(12)))


def test_a_window_is_merged_once_and_later_partials_of_it_are_ignored() -> None:
    b = book()
    b.add(partial(set(range(12))), now=0.0)
    assert len(b.ready(now=1.0)) == 1
    b.add(partial({0, 1}, created_at=5.0), now=2.0)  # re-published after the merge
    assert b.ready(now=3.0) == []
    assert b.pending("m") == []
    assert b.merged_below("m") == 8


def test_windows_are_merged_in_order_a_later_window_waits_for_an_earlier_one() -> None:
    """Window 7's shares overlap with no choice that counts each partition once (a share
    is still missing): window 8, complete, waits, because tier history runs in order."""
    b = book()
    everyone = dict.fromkeys(range(12), 9)
    b.add(partial({0, 1}, key=7, progress=everyone, created_at=1.0), now=0.0)
    b.add(partial({1, 2}, key=7, progress=everyone, created_at=2.0), now=0.0)
    b.add(partial(set(range(12)), key=8, progress=everyone), now=0.0)
    assert b.ready(now=1.0) == []
    b.add(partial({0}, key=7, progress=everyone, created_at=3.0), now=0.0)
    assert [w.key for w in b.ready(now=1.0)] == [7, 8]


def test_a_marker_read_back_makes_the_book_skip_windows_already_merged() -> None:
    b = book()
    b.mark_merged("m", 8)
    b.add(partial(set(range(12))), now=0.0)
    assert b.ready(now=1.0) == []


def test_after_the_timeout_a_window_is_merged_from_what_came_and_marked_incomplete() -> None:
    b = MergeBook(PARTITIONS, timeout=30.0)
    b.add(partial({0, 1, 2, 3}), now=100.0)
    assert b.ready(now=129.0) == []
    [merged] = b.ready(now=130.0)
    assert not merged.complete
    assert same_state(merged.state, truth(range(4)))


def test_nothing_is_covered_while_the_input_partitions_are_unknown() -> None:
    b = MergeBook(timeout=600.0)
    b.add(partial(set(range(12))), now=0.0)
    assert b.ready(now=1.0) == []
    b.set_partitions(PARTITIONS)
    assert len(b.ready(now=1.0)) == 1


def test_exact_cover_says_none_when_the_shares_cannot_be_chosen_without_overlap() -> None:
    assert exact_cover([partial({0, 1}), partial({1, 2})]) is None


@st.composite
def lineages(draw: st.DrawFn) -> list[list[set[int]]]:
    """One surviving grouping of the 12 partitions into members' shares, and dead ones
    (owners that closed some groups, then crashed before their checkpoint)."""

    def grouping() -> list[set[int]]:
        labels = draw(st.lists(st.integers(0, 4), min_size=12, max_size=12))
        groups: dict[int, set[int]] = {}
        for p, label in enumerate(labels):
            groups.setdefault(label, set()).add(p)
        return list(groups.values())

    surviving = grouping()
    dead = [
        draw(st.lists(st.sampled_from(grouping()), max_size=3))
        for _ in range(draw(st.integers(0, 3)))
    ]
    return [surviving, *dead]


@given(lineages(), st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_any_mix_of_surviving_and_replaced_shares_merges_to_every_partition_once(
    groups: list[list[set[int]]], rnd: object
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    records = [
        partial(g, created_at=rnd.random(), member=f"l{i}")
        for i, lineage in enumerate(groups)
        for g in lineage
    ]
    rnd.shuffle(records)
    b = book()
    for r in records:
        b.add(r, now=0.0)
    [merged] = b.ready(now=1.0)
    assert merged.complete
    assert same_state(merged.state, truth(range(12)))


def test_merge_states_gives_the_same_state_whatever_the_order_given() -> None:
    a, b, c = partial({0, 1}), partial({2, 3}), partial({4})
    states = [merge_states(order) for order in itertools.permutations([a, b, c])]
    assert all(s.to_bytes() == states[0].to_bytes() for s in states)


def test_sources_are_topic_partition_pairs() -> None:
    source: Source = PARTITIONS[0]
    assert partial({0}).sources == frozenset({source})
