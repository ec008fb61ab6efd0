"""Benchmark: a prompt (or several versions) over a data set, on one or more models, scored.

    bench = Benchmark(prompt="Q: {question}\\nA:", data=rows, scorer=ExactMatchScorer(target="expected"))
    results = bench.run({"tiny": wb.client("hf:workbench-tiny")}, store="runs.db", max_concurrency=8)
    results.metrics            # per model: mean score with a 95% interval, pass rate, errors, tokens, latency
    results.compare("tiny", "gpt")
    BenchmarkResults.load("runs.db", results.run_id)       # after a kernel restart
    bench.run(clients, store="runs.db", resume=results.run_id)   # only missing (or errored) rows are sent

Everything that can be wrong with the input (a template field with no column, an empty data
set, duplicate sample ids, a scorer reading a missing column) raises DataError before any
request. During the run, a failing row is recorded with its error and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from workbench.errors import DataError
from workbench.evals.cache import open_cache
from workbench.evals.engine import Job, execute
from workbench.evals.events import Emitter, RowFinished, RunFinished, RunStarted, progress_listener
from workbench.evals.results import BenchmarkResults, group_of
from workbench.evals.store import RunStore, default_store_path, open_store
from workbench.prompts.scorer import check_columns
from workbench.prompts.template import PromptTemplate, as_template


def records(data: Any) -> list[dict[str, Any]]:
    """Rows as dicts, from a list of dicts or anything with ``to_dict("records")`` (pandas)."""
    if hasattr(data, "to_dict") and not isinstance(data, Mapping):
        data = data.to_dict("records")
    if isinstance(data, Mapping):
        raise DataError("data is one mapping; pass a list of rows (dicts) or a DataFrame.")
    try:
        rows = [dict(r) for r in data]
    except (TypeError, ValueError):
        raise DataError("data must be rows (a list of dicts) or a DataFrame; got rows that are not "
                        "mappings.") from None
    if not rows:
        raise DataError("The data set is empty: a benchmark needs at least one row.")
    return rows


def _versions(prompt: Any) -> dict[int, PromptTemplate]:
    """Prompt versions by number: one prompt is version 1; a list counts 1, 2, ...; catalog
    Prompts keep their own version numbers."""
    items = list(prompt) if isinstance(prompt, (list, tuple)) else [prompt]
    if not items:
        raise DataError("No prompt: pass a template string, a PromptTemplate or a list of them.")
    out: dict[int, PromptTemplate] = {}
    for i, item in enumerate(items, start=1):
        version = getattr(item, "version", None) if not isinstance(item, (str, PromptTemplate)) else None
        number = int(version) if isinstance(version, int) else i
        if number in out:
            raise DataError(f"Two prompts share version {number}; give each a distinct version.")
        out[number] = as_template(item if isinstance(item, (str, PromptTemplate)) else str(item))
    return out


def _clients(clients: Any, *, build: bool = True) -> dict[str, Any]:
    """{name: client}; model strings become clients (``build``), or stay strings for Ray."""
    if isinstance(clients, Mapping):
        named = dict(clients)
    else:
        items = list(clients) if isinstance(clients, (list, tuple)) else [clients]
        names = [(c if isinstance(c, str) else getattr(c, "model_string", None)) or f"model_{i}"
                 for i, c in enumerate(items)]
        if len(set(names)) < len(names):
            raise DataError(f"Two models have the same name ({', '.join(sorted({n for n in names if names.count(n) > 1}))}): "
                            "pass {name: client} to tell them apart.")
        named = dict(zip(names, items))
    if not named:
        raise DataError("No models: pass a client, a list of clients, or {name: client}.")
    for name, client in list(named.items()):
        if isinstance(client, str):
            if build:
                import workbench as wb

                named[name] = wb.client(client)
            continue
        if not callable(getattr(client, "generate", None)):
            raise DataError(f"{name!r} is not a model client (it has no generate()); pass wb.client('provider:model').")
    return named


class Benchmark:
    def __init__(self, prompt: Any, data: Any, scorer: Any, *, id_column: str | None = None,
                 name: str = "benchmark", generate_kwargs: dict | None = None):
        self.prompts = _versions(prompt)
        self.rows = records(data)
        self.scorer = scorer
        self.name = name
        self.generate_kwargs = dict(generate_kwargs or {})
        self.id_column = id_column
        columns = list(self.rows[0])
        if id_column is not None and id_column not in columns:
            raise DataError(f"id_column={id_column!r} is not a column. Columns: {', '.join(columns)}.")
        for template in self.prompts.values():
            template.check(columns)
        if not callable(getattr(scorer, "score_row", None)):
            raise DataError(f"{type(scorer).__name__} cannot score data rows (no score_row); use e.g. "
                            "ExactMatchScorer(target='expected') or FunctionScorer(fn).")
        check_columns(scorer, columns)
        for i, row in enumerate(self.rows):    # every row, not only the first
            missing = [c for c in (*getattr(scorer, "columns", ()), *(v for t in self.prompts.values()
                                                                       for v in t.variables)) if c not in row]
            if missing:
                raise DataError(f"Row {i} has no {', '.join(sorted(set(missing)))}; every row needs the columns "
                                "the prompt and the scorer read.")
        judge = getattr(getattr(scorer, "client", None), "generate", None)
        if judge is not None and inspect.iscoroutinefunction(judge):
            raise DataError("The judge is a workbench.aio client; scorers call it synchronously: pass a sync client "
                            "(wb.client(...)).")
        self.last_run: dict[str, Any] | None = None    # the last run's id, store, results, resume code
        self.sample_ids = [str(r[id_column]) if id_column else str(i) for i, r in enumerate(self.rows)]
        seen: set[str] = set()
        dupes = sorted({s for s in self.sample_ids if s in seen or seen.add(s)})
        if dupes:
            raise DataError(f"Duplicate sample ids in {id_column!r}: {', '.join(dupes[:5])}; ids must be unique "
                            "(or leave id_column out to number the rows).")

    def jobs(self, models: Iterable[str], epochs: int) -> list[Job]:
        return [Job(model, sid, epoch, version, template.render(row), row)
                for model in models for version, template in self.prompts.items()
                for epoch in range(epochs) for sid, row in zip(self.sample_ids, self.rows)]

    def _check_resume(self, store: RunStore, run_id: str, models: list[str], epochs: int) -> None:
        """A resumed run must be the same experiment: same prompt texts per version, same
        data size; new models or epochs may be added (their rows are simply missing)."""
        stored = store.prompts(run_id)
        changed = [v for v, t in self.prompts.items() if v in stored and stored[v] != t.text]
        if changed:
            raise DataError(f"Run {run_id!r} was stored with other text for prompt version(s) "
                            f"{', '.join(map(str, changed))}: resuming would mix two experiments. Start a new "
                            "run_id, or give the changed prompt a new version.")
        rows = store.run_info(run_id)["config"].get("rows")
        if rows is not None and rows != len(self.rows):
            raise DataError(f"Run {run_id!r} was stored over {rows} rows, this data set has {len(self.rows)}: "
                            "resume with the same data, or start a new run_id.")

    def run(self, clients: Any, *, store: "str | Path | RunStore | None" = None, run_id: str | None = None,
            resume: str | None = None, max_concurrency: int = 8, epochs: int = 1, cache: Any = None,
            on_event: Any = None, progress: bool = False, panel: bool | None = None, executor: str = "local",
            ray_actors: int = 2) -> BenchmarkResults:
        """Run (or resume) the benchmark and return its results (see the module doc).

        ``store``: the run store (default ``.workbench/runs.db``, or $WORKBENCH_RUN_STORE);
        ``cache``: True, a path or a ResponseCache answers repeated requests from disk;
        ``on_event``: a callable (or a list) given RunStarted / RowFinished / RunFinished;
        ``panel``: the live panel (default: in a notebook, or a bar and a summary in a
        terminal; False: none); ``progress``: a tqdm bar; ``executor="ray"``: model calls run
        on ``ray_actors`` Ray actors per model (see ``ray_executor.py``).
        """
        with self._prepared(clients, store, run_id, resume, max_concurrency, epochs, executor) as prep:
            view = _open_panel(panel, self.name)
            try:
                results = _run_sync(self._execute(prep, cache=cache, on_event=on_event, progress=progress,
                                                  ray_actors=ray_actors, view=view))
            except KeyboardInterrupt as exc:
                self._end_panel(view, exc)
                raise self._interrupted(exc)
            except BaseException as exc:
                self._end_panel(view, exc)
                raise
            self._end_panel(view, None)
            return results

    async def arun(self, clients: Any, *, store: "str | Path | RunStore | None" = None, run_id: str | None = None,
                   resume: str | None = None, max_concurrency: int = 8, epochs: int = 1, cache: Any = None,
                   on_event: Any = None, progress: bool = False, panel: bool | None = None,
                   executor: str = "local", ray_actors: int = 2) -> BenchmarkResults:
        with self._prepared(clients, store, run_id, resume, max_concurrency, epochs, executor) as prep:
            view = _open_panel(panel, self.name)
            try:
                results = await self._execute(prep, cache=cache, on_event=on_event, progress=progress,
                                              ray_actors=ray_actors, view=view)
            except (KeyboardInterrupt, asyncio.CancelledError) as exc:
                self._end_panel(view, exc)
                raise self._interrupted(exc)
            except BaseException as exc:
                self._end_panel(view, exc)
                raise
            self._end_panel(view, None)
            return results

    @contextlib.contextmanager
    def _prepared(self, clients, store, run_id, resume, max_concurrency, epochs, executor):
        """Everything checked before a panel shows or a request goes out (in the caller's
        thread); the store is open and the run marked active while the block runs."""
        if executor not in ("local", "ray"):
            raise DataError(f"executor must be 'local' or 'ray', got {executor!r}.")
        named = _clients(clients, build=executor == "local")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise DataError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}.")
        if not isinstance(epochs, int) or epochs < 1:
            raise DataError(f"epochs must be an int >= 1, got {epochs!r}.")
        if resume is not None and run_id is not None and resume != run_id:
            raise DataError("Pass run_id= or resume=, not two different ids.")
        self.last_run = None
        opened = open_store(store if store is not None else default_store_path())
        own = opened is not store
        _LAST_STORE[0] = opened.path
        rid = resume or run_id or f"{self.name}-{uuid.uuid4().hex[:8]}"
        active = (str(opened.path.resolve()), rid)
        try:
            if active in _ACTIVE:
                raise DataError(f"Run {rid!r} is still running in this kernel (an earlier cell, or a task): "
                                "stop it first (Kernel > Interrupt, or cancel its task), or use another run_id.")
            if resume is not None and not opened.has_run(resume):
                opened.run_info(resume)        # raises RunStoreError listing the runs there
            if resume is None and opened.has_run(rid):
                raise DataError(f"The store already has a run {rid!r}: pass resume={rid!r} to continue it (only "
                                "missing or failed rows are sent), or choose another run_id.")
            if resume is not None:
                self._check_resume(opened, rid, list(named), epochs)
            _ACTIVE.add(active)
            try:
                yield _Prepared(named, opened, rid, resume is not None, max_concurrency, epochs, executor)
            finally:
                _ACTIVE.discard(active)
        finally:
            if own:
                _quietly(opened.close)

    def _end_panel(self, view: Any, failure: BaseException | None) -> None:
        """The panel becomes static output, in the caller's thread (where a display update
        reaches the cell); a display that fails never hides the run's own outcome."""
        if view is None:
            return
        last = self.last_run or {}
        try:
            if last.get("results") is not None:
                view.end(last["results"], last["resume_code"])
            else:
                view.abort(f"{type(failure).__name__}: {failure}" if failure is not None else "did not start")
        except Exception as exc:
            import warnings

            warnings.warn(f"The benchmark panel could not show the final results: {exc}", RuntimeWarning,
                          stacklevel=3)

    def _interrupted(self, exc: BaseException) -> BaseException:
        """A stopped run ends its cell in a few lines: what is stored, and the code that resumes it."""
        last = self.last_run or {}
        if last.get("resume_code"):
            results = last.get("results")
            stored = len(results.rows) if results is not None else "?"
            lines = [f"Interrupted: {stored} rows of run {last['run_id']!r} are stored in {last['store']}.",
                     "Resume with this code (only the missing rows are sent):", "",
                     *("    " + line for line in last["resume_code"].splitlines())]
            try:
                exc._render_traceback_ = lambda: list(lines)  # type: ignore[attr-defined]
            except AttributeError:
                pass
        return exc

    async def _execute(self, prep: "_Prepared", *, cache, on_event, progress, ray_actors, view) -> BenchmarkResults:
        named, opened, rid, epochs, executor = prep.named, prep.store, prep.run_id, prep.epochs, prep.executor
        max_concurrency = prep.max_concurrency
        done = opened.done_keys(rid) if prep.resume else set()
        jobs = [j for j in self.jobs(named, epochs) if j.key not in done]
        config = {"models": list(named), "prompt_versions": list(self.prompts), "epochs": epochs, "executor": executor,
                  "rows": len(self.rows), "scorer": type(self.scorer).__name__, "max_concurrency": max_concurrency,
                  "generate_kwargs": self.generate_kwargs, "model_strings": model_strings(named)}
        opened.start_run(rid, self.name, config, {v: t.text for v, t in self.prompts.items()})
        listeners = list(on_event) if isinstance(on_event, (list, tuple)) else [on_event]
        emit = Emitter(listeners + [progress_listener(progress and view is None)]
                       + [view.listener if view is not None else None])
        responses = open_cache(cache, opened.path)
        totals: dict[str, int] = {}
        for job in jobs:
            group = group_of(job.model, job.prompt_version, len(self.prompts) > 1)
            totals[group] = totals.get(group, 0) + 1
        emit(RunStarted(rid, self.name, tuple(named), len(jobs), skipped=len(done), totals=totals,
                        store=str(opened.path)))
        finished = 0

        def on_row(row: dict) -> None:
            nonlocal finished
            opened.write_row(row)          # queued to the writer first (written within milliseconds)
            finished += 1
            emit(RowFinished(rid, row, finished, len(jobs)))

        status, limits, pools = "failed", {}, None
        try:
            if executor == "ray":
                from workbench.evals.ray_executor import ray_pools

                pools = ray_pools(named, ray_actors)
            limits = await execute(jobs, named, self.scorer, run_id=rid, max_concurrency=max_concurrency,
                                   generate_kwargs=self.generate_kwargs or None, on_row=on_row, cache=responses,
                                   pools=pools)
            status = "finished"
        except (KeyboardInterrupt, asyncio.CancelledError):
            status = "interrupted"
            raise
        finally:
            for pool in (pools or {}).values():
                _quietly(pool.close)
            try:
                opened.finish_run(rid, status)
                results = BenchmarkResults(rid, opened.rows(rid), info=opened.run_info(rid), sent=len(jobs),
                                           store_path=opened.path)
                results.limits = limits    # per model: the final concurrency limit, and its back-offs
                self.last_run = {"run_id": rid, "store": display_store(opened.path), "results": results,
                                 "resume_code": resume_code(self, named, opened.path, rid, epochs=epochs,
                                                             executor=executor)}
                emit(RunFinished(rid, status, finished, len(jobs), results.metrics))
            finally:
                if responses is not None and responses is not cache:
                    _quietly(responses.close)
        return results


@dataclass
class _Prepared:
    named: dict[str, Any]
    store: RunStore
    run_id: str
    resume: bool
    max_concurrency: int
    epochs: int
    executor: str


_ACTIVE: set[tuple[str, str]] = set()    # (store file, run id) of the runs going on in this process
_LAST_STORE: list[Path | None] = [None]


def last_store() -> Path:
    """The store the last run in this process used, else the default store."""
    return _LAST_STORE[0] or default_store_path()


def _open_panel(panel: bool | None, name: str) -> Any:
    """The run's live panel (``workbench.notebook.bench_panel``), or None where nobody watches
    or the notebook extra is not installed."""
    if panel is False:
        return None
    try:
        from workbench.notebook.bench_panel import open_panel
    except ImportError:
        if panel:
            from workbench.errors import MissingDependencyError

            raise MissingDependencyError("anywidget", "notebook") from None
        return None
    return open_panel(panel, name)


def display_store(path: Path) -> str:
    """The store's path as a user would type it: relative to the working directory when under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resume_code(bench: Benchmark | None, named: dict[str, Any], store: Path, run_id: str, *,
                epochs: int = 1, executor: str = "local") -> str:
    """The code that resumes a run: the benchmark's variable in the notebook (or ``bench``), the
    clients rebuilt from their model strings (or ``clients``), the store, the run id, and the
    epochs and executor when they are not the defaults."""
    var = "bench"
    try:
        from IPython import get_ipython

        shell = get_ipython()
        found = [k for k, v in (shell.user_ns.items() if shell is not None else ()) if v is bench and not k.startswith("_")]
    except ImportError:
        found = []
    if bench is not None and found:
        var, head = found[0], ""
    else:
        head = "# bench: the same Benchmark(prompt, data, scorer) as the first run\n"
    strings = model_strings(named)
    if all(strings.values()):
        models = "{" + ", ".join(f"{name!r}: wb.client({s!r})" for name, s in strings.items()) + "}"
        head = "import workbench as wb\n" + head
    else:
        models, head = "clients", head + "# clients: the same {name: client} as the first run\n"
    extra = (f", epochs={epochs!r}" if epochs != 1 else "") + (f", executor={executor!r}" if executor != "local" else "")
    return f"{head}results = {var}.run({models}, store={display_store(store)!r}, resume={run_id!r}{extra})"


def model_strings(named: dict[str, Any]) -> dict[str, str | None]:
    """The string that builds each client again (``openai-compat:MODEL@URL`` keeps its URL), or
    None where no string rebuilds the same client: a URL that may carry credentials (user info
    or a query), a base URL or API key passed as a keyword, a client made without a string."""
    from workbench.models.redact import plain_url, shareable_model_string

    out: dict[str, str | None] = {}
    for name, c in named.items():
        if isinstance(c, str):
            out[name] = shareable_model_string(c)
            continue
        resolved = getattr(c, "resolved", None)
        text = getattr(resolved, "model_string", None)
        if not isinstance(text, str) or not text:
            out[name] = None
            continue
        base = getattr(resolved, "base_url", None)
        if base:
            text = f"{text}@{base}" if plain_url(base) else None
        elif hasattr(c, "base_url") and c.base_url != _default_base_url(resolved):
            text = None            # built with base_url=...: the string alone would go elsewhere
        if text and _explicit_key(c):
            text = None            # built with api_key=...: never written out, so not rebuildable
        out[name] = text
    return out


def _default_base_url(resolved: Any) -> str | None:
    import os

    info = resolved.provider
    return (os.environ.get(info.base_url_env) if info.base_url_env else None) or info.base_url


def _explicit_key(client: Any) -> bool:
    import os

    secret = getattr(client, "_api_key", None)
    info = getattr(getattr(client, "resolved", None), "provider", None)
    if secret is None or info is None:
        return False
    key = secret.get()
    return bool(key) and key != (os.environ.get(info.api_key_env) if info.api_key_env else None)


def stored_resume_code(info: dict[str, Any], store: Path, run_id: str) -> str:
    """The resume code of a stored run (from its config: model names and strings, epochs, executor)."""
    config = info.get("config") or {}
    strings = config.get("model_strings") or {}
    named = {name: strings.get(name) or object() for name in config.get("models") or []}
    return resume_code(None, named, store, run_id, epochs=int(config.get("epochs") or 1),
                       executor=str(config.get("executor") or "local"))


def _quietly(close) -> None:
    """Clean-up that must not hide the error that brought us here."""
    try:
        close()
    except Exception:
        pass


def _run_sync(coro):
    """Run the async core from sync code, also inside Jupyter (where a loop is running: the
    core gets its own loop in a thread, and Ctrl-C in the cell cancels it there)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import threading

    loop = asyncio.new_event_loop()
    task = loop.create_task(coro)
    outcome: dict = {}
    # An Event, not Thread.join: a join interrupted by Ctrl-C can return at once afterwards
    # (CPython < 3.13), and the caller must not go on while the run is still writing.
    ended = threading.Event()

    def drive() -> None:
        try:
            outcome["value"] = loop.run_until_complete(task)
        except BaseException as exc:   # handed to the caller's thread below
            outcome["error"] = exc
        finally:
            loop.close()
            ended.set()

    worker = threading.Thread(target=drive, name="benchmark-loop", daemon=True)
    worker.start()
    try:
        while not ended.wait(0.1):
            pass
    except KeyboardInterrupt:
        try:
            loop.call_soon_threadsafe(task.cancel)     # finished rows are stored; the run says "interrupted"
        except RuntimeError:                           # the loop already ended: nothing left to cancel
            pass
        while True:            # a second Ctrl-C must not return while the run is still writing
            try:
                ended.wait()
                break
            except KeyboardInterrupt:
                continue
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
