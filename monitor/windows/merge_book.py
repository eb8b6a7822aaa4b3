"""The merger's book: partials of each window until every partition is covered, then once.

The coverage rule (issue 17): window W of a model is merged when every
partition of the input topics has progressed past W (some record said all its
windows below a key > W are final) and the partials of W can be chosen with
sources that do not overlap and together hold every partition that had events
in W (`exact_cover`). A partition's progress and its share of W travel in the
same record, or the share comes first in the same partials-topic partition,
so once a partition has progressed past W its share of W is in the book.

Windows of a model are merged in key order, each once: the book remembers
`merged_below` and ignores partials of windows below it (a member that
re-closes a window after a crash re-publishes a share the merger already
used). When a partition never reports (a member that is gone with nobody
taking its partitions over), a window waits `timeout` wall-clock seconds from
its first partial, then is merged from what came and marked incomplete.

Pure bookkeeping: no I/O, no clock of its own (`now` is passed in).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from driftwarden.monitor.windows.partial import Partial, Source
from driftwarden.monitor.windows.window import WindowState

_SEARCH_BUDGET = 10_000
"""Steps of the exact-cover search before it gives up (a window then waits for more
partials or the timeout). A window has a few partials per member that ever held
its partitions, so real searches take a handful of steps."""


@dataclass(frozen=True, slots=True)
class MergedWindow:
    """A window's state over every partition, ready to be evaluated once."""

    model_id: str
    key: int
    state: WindowState
    used: tuple[Partial, ...]
    record_keys: tuple[bytes, ...]  # every record of the window, to delete once evaluated
    complete: bool


@dataclass(slots=True)
class _Model:
    windows: dict[int, dict[bytes, Partial]] = field(default_factory=dict)
    first_seen: dict[int, float] = field(default_factory=dict)
    progress: dict[Source, int] = field(default_factory=dict)
    merged_below: int | None = None


def exact_cover(partials: Sequence[Partial]) -> list[Partial] | None:
    """Partials whose sources do not overlap and cover every source of them all.

    Newest first, so after a crash the surviving owner's shares are tried
    before the ones it replaced; any answer has the same counts (module
    docstring of `monitor.windows.partial`). None when no such choice exists.
    """
    universe = frozenset().union(*(p.sources for p in partials))
    ordered = sorted(partials, key=lambda p: (-p.created_at, sorted(p.sources)))
    budget = [_SEARCH_BUDGET]

    def search(uncovered: frozenset[Source], chosen: list[Partial]) -> list[Partial] | None:
        if not uncovered:
            return chosen
        budget[0] -= 1
        if budget[0] < 0:
            return None
        first = min(uncovered)
        for p in ordered:
            if first in p.sources and p.sources <= uncovered:
                found = search(uncovered - p.sources, [*chosen, p])
                if found is not None:
                    return found
        return None

    return search(universe, [])


def _disjoint_newest(partials: Sequence[Partial]) -> list[Partial]:
    """At the timeout: the newest partials whose sources do not overlap."""
    chosen: list[Partial] = []
    taken: set[Source] = set()
    for p in sorted(partials, key=lambda p: (-p.created_at, sorted(p.sources))):
        if not (p.sources & taken):
            chosen.append(p)
            taken |= p.sources
    return chosen


def merge_states(partials: Iterable[Partial]) -> WindowState:
    """The partials' states added up (in any order: every field adds exactly)."""
    merged: WindowState | None = None
    for p in partials:
        assert p.state is not None
        merged = p.state if merged is None else merged.merge(p.state)
    if merged is None:
        raise ValueError("no partial to merge")
    return merged


class MergeBook:
    """Partials of the models one merger owns (module docstring)."""

    def __init__(self, partitions: Iterable[Source] = (), *, timeout: float) -> None:
        self.partitions: frozenset[Source] = frozenset(partitions)
        self.timeout = timeout
        self._models: dict[str, _Model] = {}

    def set_partitions(self, partitions: Iterable[Source]) -> None:
        """Every partition of the input topics: the ones a window must be covered by."""
        self.partitions = frozenset(partitions)

    def add(self, partial: Partial, now: float) -> None:
        model = self._models.setdefault(partial.model_id, _Model())
        for source, below in partial.progress.items():
            if below > model.progress.get(source, below - 1):
                model.progress[source] = below
        if partial.state is None:
            return
        if model.merged_below is not None and partial.key < model.merged_below:
            return  # re-published after the window was merged: already counted
        model.windows.setdefault(partial.key, {})[partial.record_key()] = partial
        model.first_seen.setdefault(partial.key, now)

    def discard(self, record_key: bytes, model_id: str, key: int) -> None:
        """A tombstone: the record is gone from the topic."""
        model = self._models.get(model_id)
        if model is not None and key in model.windows:
            model.windows[key].pop(record_key, None)
            if not model.windows[key]:
                del model.windows[key]
                model.first_seen.pop(key, None)

    def mark_merged(self, model_id: str, merged_below: int) -> None:
        """Windows below `merged_below` were evaluated (a marker read back, or just now)."""
        model = self._models.setdefault(model_id, _Model())
        if model.merged_below is None or merged_below > model.merged_below:
            model.merged_below = merged_below
        for key in [k for k in model.windows if k < merged_below]:
            del model.windows[key]
            model.first_seen.pop(key, None)

    def merged_below(self, model_id: str) -> int | None:
        model = self._models.get(model_id)
        return model.merged_below if model is not None else None

    def models(self) -> list[str]:
        return sorted(self._models)

    def pending(self, model_id: str) -> list[int]:
        model = self._models.get(model_id)
        return sorted(model.windows) if model is not None else []

    def forget(self, model_ids: Iterable[str]) -> None:
        """Another merger owns these models now."""
        for model_id in model_ids:
            self._models.pop(model_id, None)

    def covered(self, model_id: str, key: int) -> bool:
        """Every partition of the input topics has progressed past window `key`."""
        model = self._models.get(model_id)
        if model is None or not self.partitions:
            return False
        return all(model.progress.get(p, key) > key for p in self.partitions)

    def ready(self, now: float) -> list[MergedWindow]:
        """The windows that can be merged now, in key order per model, each once."""
        out: list[MergedWindow] = []
        for model_id in sorted(self._models):
            model = self._models[model_id]
            for key in sorted(model.windows):
                parts = list(model.windows[key].values())
                timed_out = now - model.first_seen[key] >= self.timeout
                cover = exact_cover(parts) if self.covered(model_id, key) else None
                if cover is None and not timed_out:
                    break  # later windows wait: they are evaluated in order
                complete = cover is not None
                used = cover if cover is not None else _disjoint_newest(parts)
                out.append(
                    MergedWindow(
                        model_id=model_id,
                        key=key,
                        state=merge_states(used),
                        used=tuple(used),
                        record_keys=tuple(sorted(model.windows[key])),
                        complete=complete,
                    )
                )
                self.mark_merged(model_id, key + 1)
        return out
