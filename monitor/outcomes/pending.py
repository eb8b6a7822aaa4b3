"""Predictions waiting for their outcome, on disk, in SQLite (WAL mode).

Why SQLite: it ships with Python (no binding to build or keep current), is one
of the best-tested pieces of software there is, survives kill -9 by design
(a transaction is in the file whole or not at all), and measured fast enough
for the join with the fewest bytes on disk (docs/benchmarks.md, "Outcome join").

Two tables, keyed by (model, request id):

- `pending`: a sampled, accepted prediction: its event time, its window, the
  outputs performance needs (msgpack) and whether an outcome joined it. A joined
  row stays until it expires so that a repeated outcome is seen as `duplicate`.
- `waiting`: an outcome read before its prediction (two topics are read
  concurrently): kept with its payload until the prediction comes or can no
  longer come (`unknown_request`).

- `gone`: the keys of expired predictions, for one more horizon, so that an
  outcome for one is told `outcome_too_late`, not `unknown_request`.

Rows expire by event time (`expire`), so the file holds about rate x horizon x
sample rows of ~60 bytes (and as many keys in `gone`) plus SQLite's overhead.

Exactness across crashes. Every change between two checkpoints happens in one
open SQLite transaction, and writes an *undo* row (the row as it was before).
`commit()` ends that transaction as epoch `seq + 1` and returns the number,
which the engine snapshot records. After a crash SQLite drops the unfinished
transaction by itself; `rollback_to(seq)` then undoes the committed epochs
after the checkpoint's (a snapshot committed whose checkpoint never landed),
newest first. `saved(seq)` is called once the checkpoint with `seq` is durable;
the next commit forgets the undo rows no restart can need any more. So the store always matches the
checkpoint it is restored with: nothing is joined twice and nothing is lost.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog

from driftwarden.monitor.errors import CheckpointError, SourceError

log = structlog.get_logger(__name__)

FILE_NAME: Final = "pending.sqlite"
_CHUNK = 400  # keys per IN (...) lookup: under SQLite's 999-parameter floor, with model

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS models (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS pending (
    model INTEGER NOT NULL, rid TEXT NOT NULL, ts REAL NOT NULL, win INTEGER NOT NULL,
    body BLOB NOT NULL, joined INTEGER NOT NULL, ins INTEGER NOT NULL,
    PRIMARY KEY (model, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_ts ON pending (ts);
CREATE TABLE IF NOT EXISTS waiting (
    model INTEGER NOT NULL, rid TEXT NOT NULL, ts REAL NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (model, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS waiting_ts ON waiting (ts);
CREATE TABLE IF NOT EXISTS gone (
    model INTEGER NOT NULL, rid TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (model, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gone_ts ON gone (ts);
CREATE TABLE IF NOT EXISTS undo (
    n INTEGER PRIMARY KEY, seq INTEGER NOT NULL, tbl TEXT NOT NULL,
    model INTEGER NOT NULL, rid TEXT NOT NULL,
    present INTEGER NOT NULL, ts REAL, win INTEGER, body BLOB, joined INTEGER, ins INTEGER
);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """A prediction waiting for (or already joined to) its outcome."""

    ts: float
    window: int
    body: bytes
    joined: bool


@dataclass(frozen=True, slots=True)
class Waiting:
    """An outcome that came before its prediction."""

    ts: float
    body: bytes


class PendingStore:
    """The on-disk side of the join; one process owns it (see `open`)."""

    def __init__(self, directory: Path | None) -> None:
        """`directory` None: a temporary store, removed by `close` (replay)."""
        self._temporary = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="driftwarden-outcomes-"))
            if directory is None
            else directory
        )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.directory / FILE_NAME, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit survives the process dying (kill -9), which is what the
            # checkpoint protocol needs; only power loss can take the last commits, and
            # the checkpoint then finds the store behind and says so (rollback_to).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SourceError(
                f"outcome store {self.directory / FILE_NAME} cannot be opened: {exc}; "
                "check outcomes.directory is a writable directory on a persistent volume"
            ) from None
        row = self._db.execute("SELECT value FROM meta WHERE key='seq'").fetchone()
        self.seq: int = int(row[0]) if row else 0
        self._models: dict[str, int] = dict(self._db.execute("SELECT name, id FROM models"))
        self._saved = 0
        self._db.execute("BEGIN")

    # -- reads ---------------------------------------------------------------------------

    def _model(self, name: str) -> int:
        ident = self._models.get(name)
        if ident is None:
            cursor = self._db.execute("INSERT INTO models (name) VALUES (?)", (name,))
            ident = self._models[name] = int(cursor.lastrowid or 0)
        return ident

    def pending(self, model: str, rids: Iterable[str]) -> dict[str, Pending]:
        return {
            rid: Pending(ts, win, body, bool(joined))
            for rid, ts, win, body, joined in self._select(
                "SELECT rid, ts, win, body, joined FROM pending", model, rids
            )
        }

    def waiting(self, model: str, rids: Iterable[str]) -> dict[str, Waiting]:
        return {
            rid: Waiting(ts, body)
            for rid, ts, body in self._select("SELECT rid, ts, body FROM waiting", model, rids)
        }

    def _select(self, query: str, model: str, rids: Iterable[str]) -> Iterator[Any]:
        ident = self._model(model)
        keys = list(dict.fromkeys(rids))
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"{query} WHERE model = ? AND rid IN ({marks})",
                (ident, *chunk),
            )

    def count(self, table: str) -> int:
        assert table in {"pending", "waiting", "gone", "undo"}
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    # -- writes (each with its undo row) -------------------------------------------------

    def add_pending(
        self,
        model: str,
        rows: Sequence[tuple[str, float, int, bytes, bool]],
        *,
        only_new: bool = False,
    ) -> bool:
        """New rows (rid, ts, window, body, joined) whose keys the store does not hold.

        `only_new`: the caller did not look; if a key exists nothing is written and
        the answer is False. A new row needs no undo row: it carries the epoch that
        wrote it (`ins`), and a rollback deletes the rows of later epochs.
        """
        ident, seq = self._model(model), self.seq + 1
        db = self._db
        values = [
            (ident, rid, ts, win, body, int(joined), seq) for rid, ts, win, body, joined in rows
        ]
        if not only_new:
            db.executemany("INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)", values)
            return True
        db.execute("SAVEPOINT add_pending")
        try:
            db.executemany("INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)", values)
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK TO add_pending")
            db.execute("RELEASE add_pending")
            return False
        db.execute("RELEASE add_pending")
        return True

    def mark_joined(self, model: str, rids: Sequence[str]) -> None:
        ident, seq = self._model(model), self.seq + 1
        db = self._db
        db.executemany(
            "INSERT INTO undo (seq, tbl, model, rid, present, ts, win, body, joined, ins) "
            "SELECT ?, 'pending', model, rid, 1, ts, win, body, joined, ins FROM pending "
            "WHERE model = ? AND rid = ?",
            [(seq, ident, rid) for rid in rids],
        )
        db.executemany(
            "UPDATE pending SET joined = 1 WHERE model = ? AND rid = ?",
            [(ident, rid) for rid in rids],
        )

    def add_waiting(self, model: str, rows: Sequence[tuple[str, float, bytes]]) -> None:
        ident, seq = self._model(model), self.seq + 1
        db = self._db
        db.executemany(
            "INSERT INTO waiting VALUES (?, ?, ?, ?)",
            [(ident, rid, ts, body) for rid, ts, body in rows],
        )
        db.executemany(
            "INSERT INTO undo (seq, tbl, model, rid, present) VALUES (?, 'waiting', ?, ?, 0)",
            [(seq, ident, row[0]) for row in rows],
        )

    def remove_waiting(self, model: str, rids: Sequence[str]) -> None:
        ident, seq = self._model(model), self.seq + 1
        db = self._db
        db.executemany(
            "INSERT INTO undo (seq, tbl, model, rid, present, ts, body) "
            "SELECT ?, 'waiting', model, rid, 1, ts, body FROM waiting WHERE model = ? AND rid = ?",
            [(seq, ident, rid) for rid in rids],
        )
        db.executemany(
            "DELETE FROM waiting WHERE model = ? AND rid = ?", [(ident, rid) for rid in rids]
        )

    def expire(self, before: float, forget_before: float) -> int:
        """Forget the predictions dated before `before` (their horizon has passed), keeping
        their keys in `gone` until `forget_before`."""
        seq, db = self.seq + 1, self._db
        db.execute(
            "INSERT INTO undo (seq, tbl, model, rid, present, ts, win, body, joined, ins) "
            "SELECT ?, 'pending', model, rid, 1, ts, win, body, joined, ins FROM pending "
            "WHERE ts < ?",
            (seq, before),
        )
        db.execute(
            "INSERT INTO undo (seq, tbl, model, rid, present) "
            "SELECT ?, 'gone', model, rid, 0 FROM pending WHERE ts < ?",
            (seq, before),
        )
        db.execute("INSERT INTO gone SELECT model, rid, ts FROM pending WHERE ts < ?", (before,))
        expired = db.execute("DELETE FROM pending WHERE ts < ?", (before,)).rowcount
        db.execute(
            "INSERT INTO undo (seq, tbl, model, rid, present, ts) "
            "SELECT ?, 'gone', model, rid, 1, ts FROM gone WHERE ts < ?",
            (seq, forget_before),
        )
        db.execute("DELETE FROM gone WHERE ts < ?", (forget_before,))
        return expired

    def gone(self, model: str, rids: Iterable[str]) -> set[str]:
        """Which of `rids` belonged to predictions that expired (within a horizon)."""
        return {row[0] for row in self._select("SELECT rid FROM gone", model, rids)}

    def take_waiting(self, model: str, before: float) -> list[tuple[str, Waiting]]:
        """Remove and return the model's waiting outcomes dated before `before`, oldest first."""
        ident = self._model(model)
        rows = self._db.execute(
            "SELECT rid, ts, body FROM waiting WHERE model = ? AND ts < ? ORDER BY ts, rid",
            (ident, before),
        ).fetchall()
        if rows:
            self.remove_waiting(model, [r[0] for r in rows])
        return [(rid, Waiting(ts, body)) for rid, ts, body in rows]

    # -- epochs --------------------------------------------------------------------------

    def commit(self) -> int:
        """End the current epoch durably; returns its number for the snapshot."""
        self.seq += 1
        if self._saved:
            self._db.execute("DELETE FROM undo WHERE seq <= ?", (self._saved,))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('saved', ?)", (self._saved,))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (self.seq,))
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")
        return self.seq

    def saved(self, seq: int) -> None:
        """The checkpoint holding epoch `seq` is durable: no restart goes back before it.

        Its undo rows are forgotten with the next `commit` (committing now would
        end the open epoch early)."""
        self._saved = max(self._saved, seq)

    def rollback_to(self, seq: int) -> None:
        """Bring the store back to the end of epoch `seq` (a checkpoint's)."""
        self._db.execute("ROLLBACK")  # this process's unfinished epoch, if any
        self._db.execute("BEGIN")
        if seq > self.seq:
            raise CheckpointError(
                f"outcome store {self.directory / FILE_NAME} is at epoch {self.seq} but the "
                f"checkpoint expects {seq}: the store was replaced or lost its last writes; "
                "restore the store's volume, or delete the checkpoint to start over"
            )
        row = self._db.execute("SELECT value FROM meta WHERE key='saved'").fetchone()
        if seq < (int(row[0]) if row else 0):
            raise CheckpointError(
                f"outcome store {self.directory / FILE_NAME} is at epoch {self.seq} and can no "
                f"longer go back to the checkpoint's epoch {seq}: the store belongs to a later "
                "checkpoint; restore that checkpoint, or delete the store and the checkpoint"
            )
        rows = self._db.execute(
            "SELECT n, tbl, model, rid, present, ts, win, body, joined, ins FROM undo "
            "WHERE seq > ? ORDER BY n DESC",
            (seq,),
        ).fetchall()
        for _n, tbl, model, rid, present, ts, win, body, joined, ins in rows:
            self._db.execute(f"DELETE FROM {tbl} WHERE model = ? AND rid = ?", (model, rid))  # noqa: S608
            if not present:
                continue
            if tbl == "pending":
                self._db.execute(
                    "INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (model, rid, ts, win, body, joined, ins),
                )
            elif tbl == "gone":
                self._db.execute("INSERT INTO gone VALUES (?, ?, ?)", (model, rid, ts))
            else:
                self._db.execute("INSERT INTO waiting VALUES (?, ?, ?, ?)", (model, rid, ts, body))
        self._db.execute("DELETE FROM pending WHERE ins > ?", (seq,))  # rows added since
        self._db.execute("DELETE FROM undo WHERE seq > ?", (seq,))
        if rows or seq != self.seq:
            log.info(
                "outcome_store_rolled_back", from_epoch=self.seq, to_epoch=seq, undone=len(rows)
            )
        self.seq = seq
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (seq,))
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def clear(self) -> None:
        """Empty the store, at epoch 0: for a start without a checkpoint to match."""
        db = self._db
        db.execute("ROLLBACK")
        db.execute("BEGIN")
        for table in ("pending", "waiting", "gone", "undo", "meta"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        db.execute("COMMIT")
        db.execute("BEGIN")
        self.seq = 0
        self._saved = 0

    def disk_bytes(self) -> int:
        """Bytes of the store's files (database, WAL): what `outcomes.directory` holds."""
        return sum(p.stat().st_size for p in self.directory.glob(f"{FILE_NAME}*"))

    def close(self) -> None:
        """Close without committing: an unfinished epoch is dropped, as after a crash."""
        self._db.close()
        if self._temporary:
            shutil.rmtree(self.directory, ignore_errors=True)
