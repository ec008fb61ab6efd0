"""``wb.show(stream)``: consume a chunk stream into a live view and return the answer.

    answer = wb.show(client.chat("Explain attention", stream=True))
    wb.show(agent.run("Plan a trip", stream=True))      # one lane per agent

In a Jupyter kernel the stream view widget shows it live; in a terminal (or with
``widget=False``) the text is printed as it comes. Either way the final output carries
text/html, text/markdown and text/plain, so saved notebooks and nbconvert show it.

The return value is a ``ShowResult``: a ``str`` (the final answer) with ``thinking``,
``usage``, ``elapsed_s``, ``status``, ``checkpoint`` and ``metadata`` attached. Its repr is
one short line, because the answer is already on screen above it.

Runs that belong to a client or runner (found from the stream, or passed as ``runner=``)
checkpoint after each model turn into ``.workbench/checkpoints/``; when the run fails or is
interrupted the output shows what was saved and the exact code that restores and resumes
it (``%aimu resume`` puts that code into a cell), and the error is raised again with a
short rendering instead of a traceback, so the cell fails (``raise_errors=False`` returns
the partial result instead).

``await ashow(stream)`` is the same for async streams (``workbench.aio``).
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable

from workbench.models.chunks import Phase, StreamChunk


class Answer(str):
    """An answer text that also carries the run's thinking, usage and status (``-o VAR``).

    Its repr is the text's, like any ``str``.
    """

    thinking: str
    usage: dict
    elapsed_s: float
    status: str
    error: str
    checkpoint: dict | None
    metadata: dict
    state: dict
    displayed: bool      # shown in a notebook output (which keeps the resume code, if any)
    images: list         # the finished images of an image stream, as PNG bytes

    def __new__(cls, text: str, **attrs: Any):
        self = super().__new__(cls, text)
        for key, value in attrs.items():
            setattr(self, key, value)
        return self

    @property
    def text(self) -> str:
        return str.__str__(self)

    def answer(self) -> "Answer":
        """The same text and attributes as a plain :class:`Answer` (repr shows the text)."""
        return Answer(self.text, **vars(self))


class ShowResult(Answer):
    """What ``wb.show`` returns: an :class:`Answer` whose repr is one short line, because
    the answer is already on screen above it (a cell ending in ``wb.show(...)`` would
    otherwise print it twice)."""

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython: no second copy of the answer
        printer.text(self._summary())

    def __repr__(self) -> str:
        return self._summary()

    def _summary(self) -> str:
        tokens = (self.usage or {}).get("output_tokens")
        images = len(getattr(self, "images", None) or [])
        bits = ([f"{images} image{'s' * (images != 1)}"] if images else [f"{len(self)} chars"]) + \
            ([f"{tokens} tokens"] if tokens else []) + [f"{self.elapsed_s:.2f} s"]
        if self.status != "done":
            bits.append(self.status)
        where = "result.images holds the PNGs" if images else "str(result) is the answer"
        return f"<ShowResult {', '.join(bits)}; {where}>"


def has_frontend() -> bool:
    """True inside a Jupyter kernel (widgets can be shown); False in a terminal or script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def find_runner(stream: Any, depth: int = 6) -> Any:
    """The client or runner a generator stream belongs to (its ``self``), if any."""
    from workbench.models.client import BaseModelClient

    seen = 0
    todo = [stream]
    while todo and seen < 32:
        gen = todo.pop(0)
        seen += 1
        frame = getattr(gen, "gi_frame", None) or getattr(gen, "ag_frame", None)
        if frame is None:
            continue
        for name in ("self", "runner"):   # a client's or Runner's method, or the agent driver
            owner = frame.f_locals.get(name)
            if owner is not None and (isinstance(owner, BaseModelClient) or (
                    callable(getattr(owner, "restore", None)) and
                    (callable(getattr(owner, "checkpoint", None)) or hasattr(owner, "messages")))):
                return owner
        if depth > 0:
            inner = [getattr(gen, "gi_yieldfrom", None)] + [
                v for v in frame.f_locals.values() if inspect.isgenerator(v) or inspect.isasyncgen(v)]
            todo.extend(v for v in inner if v is not None)
    return None


def image_model(stream: Any) -> str | None:
    """The model string of an image client's stream (shown in the footer from the start)."""
    from workbench.models.images.client import BaseImageClient

    frame = getattr(stream, "gi_frame", None) or getattr(stream, "ag_frame", None)
    owner = frame.f_locals.get("self") if frame is not None else None
    return owner.model_string if isinstance(owner, BaseImageClient) else None


def model_of(runner: Any, depth: int = 0) -> str:
    """The model(s) a run talks to, for its footer: a client's model string, an agent's
    client's, or the distinct models of a workflow's sub-runners; else its name."""
    value = getattr(runner, "model_string", None)
    if isinstance(value, str) and value:
        return value
    client = getattr(runner, "model_client", None) or getattr(runner, "client", None)
    if isinstance(getattr(client, "model_string", None), str) and client.model_string:
        return client.model_string
    subs = getattr(runner, "sub_runners", None)
    if callable(subs) and depth < 4:
        try:
            models = [model_of(sub, depth + 1) for sub in subs()]
        except Exception:
            models = []
        distinct = list(dict.fromkeys(m for m in models if m))
        if distinct:
            return ", ".join(distinct)
    return _label(runner)


def _label(runner: Any) -> str:
    for attr in ("model_string", "name"):
        value = getattr(runner, attr, None)
        if isinstance(value, str) and value:
            return value
    client = getattr(runner, "model_client", None) or getattr(runner, "client", None)
    return getattr(client, "model_string", "") or type(runner).__name__


class ShowRun:
    """One shown stream: the view, its checkpoints and the final output (sync and async share it)."""

    def __init__(self, runner: Any, *, model: str | None, widget: bool | None, checkpoint: bool,
                 resume_code: str | None, metadata: dict | None, checkpoint_path, render: str):
        from IPython.display import display

        from workbench.notebook import checkpoint_cells as cells

        self.runner = runner
        self.resume_code = resume_code
        self.extra_metadata = metadata or {}
        label = model or (_label(runner) if runner is not None else "")
        shown_model = model or (model_of(runner) if runner is not None else "")
        self.use_widget = has_frontend() if widget is None else widget
        if self.use_widget:
            from workbench.notebook.stream_view import StreamView

            self.view = StreamView(shown_model, render=render, limit=_token_limit(runner, metadata))
            self.handle = display(self.view, display_id=True)
        else:
            from workbench.notebook.stream_view import TerminalView

            self.view, self.handle = TerminalView(shown_model), None
        self.saver = cells.RunCheckpoints(runner, label, path=checkpoint_path) \
            if (checkpoint and runner is not None) else None
        self.hook = _attach_auto_checkpoint(runner, self.saver.path) if self.saver is not None else None

    def feed(self, chunk: StreamChunk) -> None:
        self.view.feed(chunk)
        if self.saver is not None and self.hook is None and chunk.phase is Phase.DONE:
            self.saver.save()     # a plain client: after every model turn (a Runner's hook saves itself)

    def end(self, failure: BaseException | None) -> ShowResult:
        """After the stream is closed (so the runner's history is consistent): save, offer, display."""
        from workbench.notebook import checkpoint_cells as cells

        if self.hook is not None:
            self.hook.detach()
        status, error = "done", ""
        if isinstance(failure, KeyboardInterrupt):
            status, error = "interrupted", ""      # the status says it all
        elif failure is not None:
            status, error = "error", f"{type(failure).__name__}: {failure}"
        note = None
        saved = self.saver.save() if self.saver is not None else False
        if self.saver is not None and not saved:
            # Reported in the cell, never swallowed; the run's own error is still the one raised.
            import warnings

            warnings.warn(f"The checkpoint {cells.display_path(self.saver.path)} could not be saved "
                          f"({self.saver.error}); this run cannot be resumed from it.", RuntimeWarning, stacklevel=2)
        if saved and failure is not None:
            code = self.resume_code
            if code is None:
                var = cells.runner_variable(self.runner, _user_namespace()) or "runner"
                code = cells.resume_code_for_runner(var, self.saver.path, is_client=_is_client(self.runner))
            # Shown in the output (a failed cell cannot pre-fill the next one in JupyterLab);
            # %aimu resume puts it into a cell.
            placed = cells.remember_resume(code)
            note = {"path": cells.display_path(self.saver.path), "resume_code": code}
            if placed:
                note["placed_below"] = True
        self.view.finish(status, error, checkpoint=note)

        stream = self.view.stream
        state = stream.snapshot()
        meta = {"model": state["footer"]["model"], "usage": dict(stream.usage),
                "elapsed_s": state["footer"]["elapsed_s"], "tokens_per_s": state["footer"]["tokens_per_s"],
                "status": status, **self.extra_metadata}
        if note:
            meta["checkpoint"] = note["path"]
        if self.handle is not None:
            # The live view becomes static output (HTML, Markdown, text): a saved notebook
            # reopened without its kernel, GitHub's viewer and nbconvert all show the answer.
            data, _ = self.view.bundle()
            self.handle.update(data, metadata={"workbench": meta}, raw=True)
            self.view.close()
        elif note and failure is None:
            print(f"Saved checkpoint {note['path']}.")
        answer = stream.answer
        final = getattr(self.runner, "last_result", None) if failure is None and not _is_client(self.runner) else None
        if isinstance(final, str):   # a workflow's answer is not always the last text streamed
            answer = final
        return ShowResult(answer, thinking=stream.thinking, usage=dict(stream.usage), elapsed_s=stream.elapsed_s,
                          status=status, error=error, checkpoint=note, metadata=meta, state=state,
                          displayed=self.handle is not None,
                          images=[png for lane in stream.lanes.values() for png in lane.final_images()])


def _token_limit(runner: Any, metadata: dict | None) -> int | None:
    """The max_tokens this run was given (named when an answer is cut), if known."""
    parameters = (metadata or {}).get("parameters") or {}
    defaults = getattr(runner, "default_generate_kwargs", None) or {}
    client = getattr(runner, "model_client", None) or getattr(runner, "client", None)
    defaults = defaults or getattr(client, "default_generate_kwargs", None) or {}
    value = parameters.get("max_tokens", defaults.get("max_tokens"))
    return value if isinstance(value, int) else None


def _check_stream(stream: Any) -> None:
    if isinstance(stream, str):
        raise TypeError("show() takes a chunk stream, e.g. wb.show(client.chat('Hi', stream=True)); "
                        "got a str (did you forget stream=True?)")


def _finish(run: ShowRun, failure: BaseException | None, raise_errors: bool) -> ShowResult:
    from workbench.notebook import failures

    result = run.end(failure)
    if failure is not None and raise_errors:
        try:
            failure.shown = result
        except AttributeError:
            pass
        # The cell fails with a few lines (what failed, what was saved, the resume code), not
        # a traceback wall; the exception keeps its type.
        raise failures.shorten(failure, failures.describe(failure, typed=True), head="")
    if failure is not None and not run.use_widget:
        note = result.checkpoint or {}
        print("\n".join(failures.short_lines(failures.describe(failure, typed=True), note.get("resume_code"),
                                              note.get("path"), head="", color=False,
                                              placed_below=bool(note.get("placed_below")))))
    return result


def show(stream: Iterable[StreamChunk], *, model: str | None = None, runner: Any = None,
         widget: bool | None = None, checkpoint: bool = True, raise_errors: bool = True,
         resume_code: str | None = None, metadata: dict | None = None,
         checkpoint_path=None, render: str = "markdown") -> ShowResult:
    """Show a chunk stream live and return the final answer (see the module docstring)."""
    _check_stream(stream)
    run = ShowRun(runner if runner is not None else find_runner(stream), model=model or image_model(stream),
                  widget=widget, checkpoint=checkpoint, resume_code=resume_code, metadata=metadata,
                  checkpoint_path=checkpoint_path, render=render)
    failure = None
    try:
        for chunk in stream:
            run.feed(chunk)
    except (KeyboardInterrupt, Exception) as exc:
        failure = exc
    finally:
        close = getattr(stream, "close", None)
        if callable(close):  # lets the client record the failure before we checkpoint
            try:
                close()
            except Exception:
                pass
    return _finish(run, failure, raise_errors)


async def ashow(stream, *, model: str | None = None, runner: Any = None, widget: bool | None = None,
                checkpoint: bool = True, raise_errors: bool = True, resume_code: str | None = None,
                metadata: dict | None = None, checkpoint_path=None, render: str = "markdown") -> ShowResult:
    """The async twin: ``await ashow(aclient.chat(..., stream=True))`` (same view, same result)."""
    _check_stream(stream)
    run = ShowRun(runner if runner is not None else find_runner(stream), model=model or image_model(stream),
                  widget=widget, checkpoint=checkpoint, resume_code=resume_code, metadata=metadata,
                  checkpoint_path=checkpoint_path, render=render)
    failure = None
    try:
        async for chunk in stream:
            run.feed(chunk)
    except (KeyboardInterrupt, Exception) as exc:
        failure = exc
    finally:
        aclose = getattr(stream, "aclose", None)
        if callable(aclose):
            try:
                await aclose()
            except Exception:
                pass
    return _finish(run, failure, raise_errors)


def _attach_auto_checkpoint(runner: Any, path) -> Any:
    """A Runner saves itself after every completed iteration (its checkpoint hook)."""
    from workbench.models.client import BaseModelClient

    if isinstance(runner, BaseModelClient):
        return None
    try:
        from workbench.checkpoints import auto_checkpoint

        path.parent.mkdir(parents=True, exist_ok=True)
        return auto_checkpoint(runner, path)
    except (ImportError, TypeError):
        return None


def _is_client(runner: Any) -> bool:
    from workbench.models.client import BaseModelClient

    return isinstance(runner, BaseModelClient)


def _user_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def show_cache(*, refresh_s: float = 1.0) -> None:
    """Display the memory gauge: every weight-cache entry, device totals and clear buttons.

    Returns nothing (the gauge is on screen; a returned widget would be displayed twice as
    the cell's value). ``workbench.notebook.gauge.MemoryGauge`` is the widget itself.
    """
    from IPython.display import display

    from workbench.notebook.gauge import MemoryGauge

    gauge = MemoryGauge(refresh_s=refresh_s)
    if has_frontend():
        display(gauge)
    else:
        print(gauge.text())
        gauge.close()
