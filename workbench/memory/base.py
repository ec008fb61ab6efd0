"""MemoryStore: texts with their embeddings in one SQLite file, searched by meaning.

The file is opened with ``apsw`` (a SQLite binding that can load extensions; the stdlib
module of some Pythons, this project's CI machine's included, cannot) and indexed with
``sqlite-vec`` (a ``vec0`` table, cosine distance). Without sqlite-vec, or with
``index="exact"``, search is exact: every stored vector scored with numpy (kept in memory
between searches until the store changes). Either way the vectors are also kept in the
``items`` table, so an index can always be rebuilt from the file itself.

Tables: ``items`` (``id``, ``text``, ``tags`` JSON, ``source``, ``start``, ``end``,
``meta`` JSON, ``created_at``, ``embedding`` float32 BLOB), ``items_vec`` (the vec0 index,
rowid = item id), ``store_meta`` (``kind``, ``embedder``, ``dimension``). A store keeps the
embedder and dimension it was made with: another dimension, or another embedder, is an
error, never mixed vectors.

The sync methods embed then write; ``workbench.aio``'s twins await the embedder and run
the same SQLite steps in a thread (``_insert``, ``_nearest``).
"""

from __future__ import annotations

import json
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from workbench.errors import EmbeddingDimensionError, MissingDependencyError, StoreError


@dataclass
class MemoryHit:
    id: int
    text: str
    score: float                       # cosine similarity to the query, in [-1, 1]
    tags: list[str] = field(default_factory=list)
    source: str | None = None
    start: int | None = None
    end: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None


SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '[]', source TEXT, start INTEGER,
    "end" INTEGER, meta TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS items_source ON items (source);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

BUSY_TIMEOUT_S = 10.0


def _apsw():
    try:
        import apsw
    except ImportError as exc:
        raise MissingDependencyError("apsw", "memory") from exc
    return apsw


def pack(vector: list[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


class MemoryStore:
    """The shared base of SemanticMemoryStore and DocumentStore (see the module doc)."""

    kind = "memory"

    def __init__(self, path: str | Path, embedder: Any, *, index: str = "auto"):
        from workbench.models.embeddings import embedder as make_embedder

        if index not in ("auto", "vec", "exact"):
            raise ValueError(f"index must be 'auto', 'vec' or 'exact', got {index!r}.")
        self.path = Path(path)
        self.embedder = make_embedder(embedder)
        self._lock = threading.RLock()
        self._conn = self._open()
        self.index = self._load_vec() if index != "exact" else "exact"
        if index == "vec" and self.index != "vec":
            raise MissingDependencyError("sqlite-vec", "memory")
        self._matrix: Any = None            # exact search: (fingerprint, ids, matrix)
        self._check_kind()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {str(self.path)!r}: {len(self)} items, {self.embedder.model_string}, {self.index}>"

    # -- opening ----------------------------------------------------------------------------------
    def _open(self):
        apsw = _apsw()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = apsw.Connection(str(self.path))
            conn.setbusytimeout(int(BUSY_TIMEOUT_S * 1000))
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            conn.execute(SCHEMA)
        except (apsw.Error, OSError) as exc:
            raise StoreError(self._problem(exc)) from exc
        return conn

    def _problem(self, exc: BaseException) -> str:
        from workbench.log.store import sqlite_problem

        return sqlite_problem(self.path, f"{self.kind} store", exc)

    def _load_vec(self) -> str:
        try:
            import sqlite_vec

            self._conn.enable_load_extension(True)
            self._conn.load_extension(sqlite_vec.loadable_path())
            self._conn.enable_load_extension(False)
            return "vec"
        except Exception:            # no sqlite-vec here: exact search, same results
            return "exact"

    def _meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM store_meta").fetchall())

    def _check_kind(self) -> None:
        meta = self._meta()
        if meta.get("kind") not in (None, self.kind):
            raise StoreError(f"{str(self.path)!r} is a {meta['kind']} store, not a {self.kind} store: open it with "
                             "the matching class, or use another path.")
        stored = meta.get("embedder")
        if stored is not None and stored != self.embedder.model_string:
            raise EmbeddingDimensionError(
                f"{str(self.path)!r} holds vectors from {stored} (dimension {meta.get('dimension')}), not from "
                f"{self.embedder.model_string}: vectors of two embedders are not comparable. Open it with "
                f"wb.embedder({stored!r}), or use a new path for this embedder.")

    def _ensure_dimension(self, dim: int) -> None:
        """The first vectors fix the store's dimension (and its vec0 index); others must match."""
        meta = self._meta()
        if "dimension" in meta:
            if int(meta["dimension"]) != dim:
                raise EmbeddingDimensionError(
                    f"{str(self.path)!r} holds {meta['dimension']}-dimensional vectors from {meta.get('embedder')}, "
                    f"but {self.embedder.model_string} now gives {dim}: vectors are never mixed. Use a new path, "
                    "or the embedder (and options such as dimensions=) the store was made with.")
            return
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)",
                                   [("kind", self.kind), ("embedder", self.embedder.model_string),
                                    ("dimension", str(dim))])
            if self.index == "vec":
                self._create_vec(dim)

    def _create_vec(self, dim: int) -> None:
        self._conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS items_vec USING vec0(embedding float[{dim}] "
                           "distance_metric=cosine)")
        # an index made after items were stored by a process without sqlite-vec catches up here
        self._conn.execute("INSERT INTO items_vec (rowid, embedding) SELECT id, embedding FROM items "
                           "WHERE id NOT IN (SELECT rowid FROM items_vec)")

    def _has_vec_table(self) -> bool:
        return bool(self._conn.execute("SELECT 1 FROM sqlite_master WHERE name='items_vec'").fetchall())

    # -- writing ------------------------------------------------------------------------------------
    def _insert(self, rows: list[dict[str, Any]], vectors: list[list[float]], *,
                replace_source: str | None = None) -> list[int]:
        """Store ``rows`` (text, tags, source, start, end, meta) with their vectors in one
        transaction (after removing ``replace_source``'s items); returns their ids."""
        if not rows:
            return []
        dim = len(vectors[0])
        apsw = _apsw()
        with self._lock:
            try:
                self._ensure_dimension(dim)
                if self.index == "vec" and not self._has_vec_table():
                    with self._conn:
                        self._create_vec(dim)
                ids = []
                now = time.time()
                with self._conn:
                    if replace_source is not None:
                        self._delete_where("source = ?", (replace_source,))
                    for row, vector in zip(rows, vectors):
                        blob = pack(vector)
                        self._conn.execute(
                            'INSERT INTO items (text, tags, source, start, "end", meta, created_at, embedding) '
                            "VALUES (?,?,?,?,?,?,?,?)",
                            (row["text"], json.dumps(list(row.get("tags") or [])), row.get("source"), row.get("start"),
                             row.get("end"), json.dumps(row.get("meta") or {}, default=str), now, blob))
                        item_id = self._conn.last_insert_rowid()
                        if self.index == "vec":
                            self._conn.execute("INSERT INTO items_vec (rowid, embedding) VALUES (?, ?)", (item_id, blob))
                        ids.append(item_id)
            except apsw.Error as exc:
                raise StoreError(self._problem(exc)) from exc
            self._matrix = None
            return ids

    def _delete_where(self, where: str, args: tuple) -> int:
        ids = [r[0] for r in self._conn.execute(f"SELECT id FROM items WHERE {where}", args).fetchall()]
        if ids and self._has_vec_table():
            self._conn.executemany("DELETE FROM items_vec WHERE rowid = ?", [(i,) for i in ids])
        self._conn.execute(f"DELETE FROM items WHERE {where}", args)
        return len(ids)

    def delete(self, item_id: int) -> bool:
        with self._lock, self._conn:
            removed = self._delete_where("id = ?", (int(item_id),))
        self._matrix = None
        return bool(removed)

    def clear(self) -> int:
        """Remove every item (the store keeps its embedder and dimension)."""
        with self._lock, self._conn:
            removed = self._delete_where("1 = 1", ())
        self._matrix = None
        return removed

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM items").fetchall()[0][0]

    # -- searching ----------------------------------------------------------------------------------
    def _check_query(self, vector: list[float]) -> None:
        meta = self._meta()
        if "dimension" in meta and int(meta["dimension"]) != len(vector):
            raise EmbeddingDimensionError(
                f"The query's vector has {len(vector)} dimensions; {str(self.path)!r} holds {meta['dimension']} "
                f"from {meta.get('embedder')}.")

    def _nearest(self, vector: list[float], k: int, *, tags: Iterable[str] | None = None,
                 source: str | None = None) -> list[MemoryHit]:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k!r}.")
        self._check_query(vector)
        with self._lock:
            filtered = bool(tags) or source is not None
            if self.index == "vec" and not filtered and self._has_vec_table():
                found = self._conn.execute(
                    "SELECT rowid, distance FROM items_vec WHERE embedding MATCH ? AND k = ? ORDER BY distance",
                    (pack(vector), int(k))).fetchall()
                scored = [(item_id, 1.0 - distance) for item_id, distance in found]
            else:                       # exact: also the way a filter is applied before ranking
                scored = self._exact(vector, k, tags=list(tags or []), source=source)
            return self._hits(scored)

    def _exact(self, vector: list[float], k: int, *, tags: list[str], source: str | None) -> list[tuple[int, float]]:
        import numpy as np

        if tags or source is not None:
            where, args = _filter(tags, source)
            ids, matrix = _unit_rows(self._conn.execute(f"SELECT id, embedding FROM items WHERE {where}", args).fetchall())
        else:
            ids, matrix = self._all_vectors()
        if matrix is None or not len(ids):
            return []
        query = np.asarray(vector, dtype=np.float32)
        scores = matrix @ (query / (np.linalg.norm(query) or 1.0))        # cosine: the rows are unit length
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _all_vectors(self):
        fingerprint = tuple(self._conn.execute("SELECT count(*), max(id), total(id) FROM items").fetchall()[0])
        if self._matrix is not None and self._matrix[0] == fingerprint:
            return self._matrix[1], self._matrix[2]
        ids, matrix = _unit_rows(self._conn.execute("SELECT id, embedding FROM items ORDER BY id").fetchall())
        self._matrix = (fingerprint, ids, matrix)
        return ids, matrix

    def _hits(self, scored: list[tuple[int, float]]) -> list[MemoryHit]:
        if not scored:
            return []
        marks = ",".join("?" * len(scored))
        rows = {r[0]: r for r in self._conn.execute(
            f'SELECT id, text, tags, source, start, "end", meta, created_at FROM items WHERE id IN ({marks})',
            tuple(i for i, _ in scored)).fetchall()}
        return [MemoryHit(id=i, text=rows[i][1], score=score, tags=json.loads(rows[i][2]), source=rows[i][3],
                          start=rows[i][4], end=rows[i][5], meta=json.loads(rows[i][6]), created_at=rows[i][7])
                for i, score in scored if i in rows]

    def items(self, *, tags: Iterable[str] | None = None, source: str | None = None, limit: int | None = None
              ) -> list[MemoryHit]:
        """Stored items, oldest first (score 0): all, or those with every tag / from ``source``."""
        where, args = _filter(list(tags or []), source)
        sql = f"SELECT id FROM items WHERE {where} ORDER BY id" + (f" LIMIT {int(limit)}" if limit else "")
        return self._hits([(r[0], 0.0) for r in self._conn.execute(sql, args).fetchall()])

    def close(self) -> None:
        self._conn.close()


def _unit_rows(rows: list[tuple[int, bytes]]):
    """(ids, matrix of unit-length rows) from (id, float32 blob) rows; (ids, None) when empty."""
    import numpy as np

    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    if not rows:
        return ids, None
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return ids, matrix / np.where(norms == 0, 1.0, norms)


def _filter(tags: list[str], source: str | None) -> tuple[str, tuple]:
    clauses, args = ["1 = 1"], []
    for tag in tags:
        clauses.append("EXISTS (SELECT 1 FROM json_each(items.tags) WHERE value = ?)")
        args.append(tag)
    if source is not None:
        clauses.append("source = ?")
        args.append(source)
    return " AND ".join(clauses), tuple(args)
