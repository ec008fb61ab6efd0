"""The kernel-wide weight cache for every in-process model (HF text, llama.cpp, diffusers).

One registry per process, keyed by ``(kind, model id or resolved path, normalized load
kwargs)``. A second client for the same key gets the same weights; concurrent first loads
of one key load once (a per-key future: unrelated keys load in parallel, and no global
lock is held while loading). A load that fails, out-of-memory included, leaves the cache
as it was and the next call tries again.

    import workbench as wb
    wb.cache_info()                          # entries: key, devices, bytes, load time, hits
    wb.clear_hf_cache("hf:Qwen/Qwen3-8B")    # or HuggingFaceModel.QWEN_3_8B; None clears all
    wb.clear_llamacpp_cache()                # returns the bytes freed

**A client whose weights were cleared raises** :class:`~workbench.errors.WeightsClearedError`
on its next call, naming the fix (``client.reload()`` or a new client). It does not reload
by itself: a user who cleared the cache to free memory should not see it silently filled
again by a stale client.

**Clearing while a stream runs** on the cleared weights does not break that stream: each
turn holds a lease on its entry (:meth:`CacheEntry.use`); the entry leaves the registry at
once, and its memory (llama.cpp models closed, torch modules dropped, CUDA cache emptied)
is released when the last lease ends. The bytes a clear returns count such entries too.

``subscribe(callback)``: ``callback(event)`` runs after every load and clear, with a
:class:`CacheEvent` (the notebook memory gauge refreshes on it).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import Future, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from workbench.models.local.memory import format_bytes, free_memory, guess_bytes_by_device

log = logging.getLogger(__name__)

# Which cache kinds each clear_*_cache function covers.
FAMILIES: dict[str, tuple[str, ...]] = {
    "hf": ("hf", "hf-vision", "diffusers"),
    "llamacpp": ("llamacpp",),
}

_KINDS = set(FAMILIES) | {k for kinds in FAMILIES.values() for k in kinds}

_DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32",
                  "float": "float32", "fp64": "float64", "double": "float64"}


# -- keys ---------------------------------------------------------------------------------
def normalize_value(name: str, value: Any) -> Any:
    """A hashable, canonical form of one load kwarg (``torch.bfloat16`` == ``"bf16"``)."""
    if name in ("dtype", "torch_dtype") and value is not None and not isinstance(value, dict):
        text = str(value).removeprefix("torch.")
        return _DTYPE_ALIASES.get(text, text)
    if isinstance(value, dict):
        return tuple(sorted((str(k), normalize_value(str(k), v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [normalize_value(name, v) for v in value]
        return tuple(sorted(items, key=repr)) if isinstance(value, (set, frozenset)) else tuple(items)
    if isinstance(value, Path):
        return str(value.expanduser().resolve())
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # torch.device("cuda:0") -> "cuda:0"


def normalize_kwargs(load_kwargs: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    items = {("dtype" if k == "torch_dtype" else k): v for k, v in (load_kwargs or {}).items()}
    return tuple(sorted((k, normalize_value(k, v)) for k, v in items.items() if v is not None))


@dataclass(frozen=True)
class CacheKey:
    kind: str                         # "hf", "llamacpp", "diffusers", ...
    model: str                        # model id or resolved path
    kwargs: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, kind: str, model: str, load_kwargs: dict[str, Any] | None = None) -> "CacheKey":
        return cls(kind, str(model), normalize_kwargs(load_kwargs))

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.kwargs)
        return f"{self.kind}:{self.model}" + (f" ({extra})" if extra else "")


# -- entries -------------------------------------------------------------------------------
@dataclass
class Loaded:
    """What a loader may return instead of a bare value: the value plus how to size and free it."""

    value: Any
    bytes_by_device: dict[str, int] | None = None
    close: Callable[[Any], None] | None = None
    label: str | None = None          # what the user asked for ("workbench-tiny"), for reports


@dataclass
class CacheEntry:
    key: CacheKey
    value: Any
    bytes_by_device: dict[str, int]
    load_s: float
    loaded_at: float
    label: str
    hits: int = 0
    cleared: bool = False
    _close: Callable[[Any], None] | None = field(default=None, repr=False)
    _leases: int = field(default=0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def bytes(self) -> int:
        return sum(self.bytes_by_device.values())

    @contextlib.contextmanager
    def use(self) -> Iterator[Any]:
        """Hold the weights for one turn; a clear during it frees them when the turn ends."""
        from workbench.errors import WeightsClearedError

        with self._lock:
            if self.cleared or self.value is None:
                raise WeightsClearedError(
                    f"The weights of {self.label} were cleared from the cache "
                    f"(clear_hf_cache / clear_llamacpp_cache). Call client.reload() to load them "
                    f"again, or create a new client.")
            self._leases += 1
            value = self.value
        try:
            yield value
        finally:
            with self._lock:
                self._leases -= 1
                release = self.cleared and self._leases == 0
            if release:
                self._release()

    def _mark_cleared(self) -> None:
        with self._lock:
            self.cleared = True
            release = self._leases == 0
        if release:
            self._release()

    def _release(self) -> None:
        with self._lock:
            value, self.value = self.value, None
        if value is not None and self._close is not None:
            try:
                self._close(value)
            except Exception:  # freeing must not raise into a clear or a finishing stream
                log.exception("closing cached weights of %s failed", self.key)
        del value
        free_memory()

    def info(self) -> "EntryInfo":
        return EntryInfo(key=self.key, provider=self.key.kind, model=self.label,
                         kwargs=dict(self.key.kwargs), bytes_by_device=dict(self.bytes_by_device),
                         bytes=self.bytes, load_s=self.load_s, hits=self.hits, loaded_at=self.loaded_at,
                         in_use=self._leases)


@dataclass(frozen=True)
class EntryInfo:
    key: CacheKey
    provider: str
    model: str
    kwargs: dict[str, Any]
    bytes_by_device: dict[str, int]
    bytes: int
    load_s: float
    hits: int
    loaded_at: float
    in_use: int = 0

    @property
    def devices(self) -> list[str]:
        return sorted(self.bytes_by_device)


class CacheInfo(list):
    """``cache_info()``'s answer: a list of :class:`EntryInfo` with a readable repr and an HTML table."""

    @property
    def total_bytes(self) -> int:
        return sum(e.bytes for e in self)

    def _rows(self) -> list[tuple[str, ...]]:
        return [(e.provider, e.model, ", ".join(f"{k}={v}" for k, v in e.kwargs.items()) or "-",
                 ", ".join(f"{d} {format_bytes(b)}" for d, b in sorted(e.bytes_by_device.items())) or "-",
                 format_bytes(e.bytes), f"{e.load_s:.2f} s", str(e.hits)) for e in self]

    _HEAD = ("provider", "model", "kwargs", "devices", "bytes", "load", "hits")

    def __repr__(self) -> str:
        if not self:
            return "<weight cache: empty>"
        rows = [self._HEAD] + self._rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(self._HEAD))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines + [f"{len(self)} entries, {format_bytes(self.total_bytes)}"])

    def _repr_html_(self) -> str:
        import html

        if not self:
            return "<p><b>Weight cache</b>: empty</p>"
        head = "".join(f"<th>{h}</th>" for h in self._HEAD)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self._rows())
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{len(self)} entries, {format_bytes(self.total_bytes)}</p>")


@dataclass(frozen=True)
class CacheEvent:
    action: str                       # "load" | "clear"
    entries: list[EntryInfo]
    bytes: int


# -- the registry --------------------------------------------------------------------------
LOAD_TIMEOUT_ENV = "WORKBENCH_LOAD_TIMEOUT"
DEFAULT_LOAD_WAIT_S = 3600.0     # a thread waiting for another's load of the same weights


class WeightCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, CacheEntry] = {}
        self._pending: dict[CacheKey, Future] = {}
        self._subscribers: list[Callable[[CacheEvent], None]] = []

    def get_or_load(self, kind: str, model_id: str, load_kwargs: dict[str, Any] | None,
                    loader: Callable[[], Any], *, sizer: Callable[[Any], dict[str, int]] | None = None,
                    close: Callable[[Any], None] | None = None) -> CacheEntry:
        """The entry for this key, loading it with ``loader()`` the first time.

        ``loader`` returns the weights or a :class:`Loaded`. Threads asking for a key that
        is loading wait for that load (and share its error if it fails).
        """
        key = CacheKey.make(kind, model_id, load_kwargs)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.hits += 1
                return entry
            future = self._pending.get(key)
            leader = future is None
            if leader:
                future = self._pending[key] = Future()
        if not leader:
            from workbench.errors import WaitTimeout, wait_limit

            limit = wait_limit(LOAD_TIMEOUT_ENV, DEFAULT_LOAD_WAIT_S)
            try:
                entry = future.result(timeout=limit)
            except FutureTimeout:
                raise WaitTimeout(f"{model_id}: another thread has been loading these weights for over {limit:g} s; "
                                  f"this one stopped waiting. Let it wait longer with ${LOAD_TIMEOUT_ENV} (seconds), "
                                  "or look at the loading thread (a slow disk, a download).",
                                  setting=LOAD_TIMEOUT_ENV) from None
            with self._lock:
                entry.hits += 1
            return entry
        try:
            entry = self._load(key, model_id, loader, sizer, close)
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            future.set_exception(exc)
            future.exception()  # mark retrieved: no "never retrieved" noise when nobody waited
            raise
        with self._lock:
            self._entries[key] = entry
            del self._pending[key]
        future.set_result(entry)
        self._notify("load", [entry.info()], entry.bytes)
        return entry

    @staticmethod
    def _load(key, model_id, loader, sizer, close) -> CacheEntry:
        start = time.perf_counter()
        result = loader()
        load_s = time.perf_counter() - start
        loaded = result if isinstance(result, Loaded) else Loaded(result)
        sizes = loaded.bytes_by_device
        if sizes is None:
            sizes = sizer(loaded.value) if sizer is not None else guess_bytes_by_device(loaded.value)
        return CacheEntry(key=key, value=loaded.value, bytes_by_device=dict(sizes), load_s=load_s,
                          loaded_at=time.time(), label=loaded.label or str(model_id),
                          _close=loaded.close or close)

    def peek(self, key: CacheKey) -> CacheEntry | None:
        with self._lock:
            return self._entries.get(key)

    def entries(self, kinds: tuple[str, ...] | None = None) -> list[CacheEntry]:
        with self._lock:
            return [e for e in self._entries.values() if kinds is None or e.key.kind in kinds]

    def info(self, kinds: tuple[str, ...] | None = None) -> CacheInfo:
        return CacheInfo(e.info() for e in self.entries(kinds))

    def clear(self, kinds: tuple[str, ...] | None = None, model: Any = None) -> int:
        """Drop matching entries and free their memory; returns the bytes freed."""
        names = _model_names(model)
        with self._lock:
            doomed = [e for k, e in self._entries.items()
                      if (kinds is None or k.kind in kinds) and (names is None or _matches(e, names))]
            for e in doomed:
                del self._entries[e.key]
        infos = [e.info() for e in doomed]
        for e in doomed:
            e._mark_cleared()
        del doomed
        free_memory()
        freed = sum(i.bytes for i in infos)
        self._notify("clear", infos, freed)
        return freed

    # -- subscribers -------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[CacheEvent], None]) -> None:
        with self._lock:
            if callback not in self._subscribers:
                self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[CacheEvent], None]) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def _notify(self, action: str, infos: list[EntryInfo], nbytes: int) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        event = CacheEvent(action, infos, nbytes)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a broken gauge must not break a load
                log.exception("weight-cache subscriber %r failed", callback)


def _model_names(model: Any) -> set[str] | None:
    """The names a clear() argument may match: the id, its path form, its catalog id."""
    if model is None:
        return None
    from workbench.models.spec import Model

    if isinstance(model, Model):
        return {model.id}
    if isinstance(model, Path):
        return {str(model.expanduser().resolve())}
    if not isinstance(model, str):
        raise TypeError(f"model= takes None, a string like 'hf:Qwen/Qwen3-8B' or a catalog member, "
                        f"got {type(model).__name__}.")
    text = model.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() in _KINDS and rest:
        text = rest
    names = {text}
    if text.startswith(("/", "./", "../", "~")) or Path(text).expanduser().exists():
        names.add(str(Path(text).expanduser().resolve()))
    return names


def _matches(entry: CacheEntry, names: set[str]) -> bool:
    return entry.key.model in names or entry.label in names


# -- the process-wide cache and the top-level verbs -----------------------------------------
CACHE = WeightCache()


def get_or_load(kind: str, model_id: str, load_kwargs: dict[str, Any] | None, loader: Callable[[], Any],
                **kwargs: Any) -> CacheEntry:
    return CACHE.get_or_load(kind, model_id, load_kwargs, loader, **kwargs)


def cache_info() -> CacheInfo:
    """Every cached in-process model: key, provider, model, kwargs, bytes per device, load time, hits."""
    return CACHE.info()


def clear_hf_cache(model: Any = None) -> int:
    """Free HuggingFace weights (all, or one model by string or catalog member); returns bytes freed."""
    return CACHE.clear(FAMILIES["hf"], model)


def clear_llamacpp_cache(model: Any = None) -> int:
    """Free llama.cpp models (all, or one by string, path or catalog member); returns bytes freed."""
    return CACHE.clear(FAMILIES["llamacpp"], model)


def clear_cache(model: Any = None) -> int:
    """Free every in-process model of every kind."""
    return CACHE.clear(None, model)


def subscribe(callback: Callable[[CacheEvent], None]) -> None:
    CACHE.subscribe(callback)


def unsubscribe(callback: Callable[[CacheEvent], None]) -> None:
    CACHE.unsubscribe(callback)
