"""The generated msgspec struct an event is decoded into: one attribute per mapped field."""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Any

import msgspec


def build_envelope(
    paths: Mapping[str, str],
    *,
    leaf_types: Mapping[str, Any] | None = None,
    gc: bool = True,
) -> tuple[type[msgspec.Struct], dict[str, attrgetter[Any]]]:
    """A msgspec struct with one attribute per mapped field, nested along dotted paths.

    Attribute names are generated (`f0`, `f1`, ...) and renamed to the JSON keys,
    so any key works, including ones that are not Python identifiers. Absent
    parts default to None (leaves) or an empty nested struct (inner nodes).
    Leaves are `Any` unless `leaf_types` gives a role a type (the typed fast path).
    """
    types = leaf_types or {}
    tree: dict[str, Any] = {}
    for role, path in paths.items():
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"event field paths conflict at {path!r}")
            node = child
        if parts[-1] in node:
            raise ValueError(f"event field path {path!r} is used twice")
        node[parts[-1]] = role

    counter = iter(range(1_000_000))
    getters: dict[str, list[str]] = {}

    def make(node: dict[str, Any], prefix: list[str]) -> type[msgspec.Struct]:
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for key, child in node.items():
            attr = f"f{next(counter)}"
            rename[attr] = key
            if isinstance(child, dict):
                sub = make(child, [*prefix, attr])
                fields.append((attr, sub, msgspec.field(default_factory=sub)))
            else:
                fields.append((attr, types.get(child, Any), None))
                getters[child] = [*prefix, attr]
        return msgspec.defstruct(f"Envelope{next(counter)}", fields, rename=rename, gc=gc)

    root = make(tree, [])
    return root, {role: attrgetter(".".join(attrs)) for role, attrs in getters.items()}
