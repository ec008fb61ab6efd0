"""How a failed or interrupted notebook run ends its cell: in error, with a short message.

A cell whose model call failed must fail (so "Run All" stops and ``nbconvert --execute``
exits non-zero), but a 30-frame traceback ending in an HTTP library helps nobody. IPython
renders an exception through its ``_render_traceback_`` when it has one, so
:func:`shorten` gives the *original* exception (its type is kept: ``except RateLimitError``
still works, and an interrupt stays a ``KeyboardInterrupt``) a rendering of a few lines:
what went wrong, what was saved, and the exact code that resumes the run.
"""

from __future__ import annotations

from typing import Any

RED, BOLD, RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"


def short_lines(message: str, resume_code: str | None = None, checkpoint: str | None = None, *,
                head: str = "aimu:", code_above: bool = False, color: bool = True,
                placed_below: bool = False) -> list[str]:
    """The lines shown for a failure (ANSI colours like IPython's own tracebacks).

    ``code_above``: the run's output above already shows the resume code as a copyable
    block (a notebook), so it is named, not repeated. ``placed_below``: the JupyterLab
    extension put it into the cell below.
    """
    lines = (message.strip() or "failed").splitlines()
    if head:
        shown_head = f"{RED}{BOLD}{head}{RESET}" if color else head
        lines = [f"{shown_head} {lines[0]}"] + [f"{shown_head} {line}" for line in lines[1:]]
    if checkpoint and resume_code and placed_below:
        lines.append(f"Saved checkpoint {checkpoint}; the cell below holds the code that resumes the run "
                     "(run it to continue).")
        return lines
    if checkpoint and resume_code and code_above:
        lines.append(f"Saved checkpoint {checkpoint}; the code that resumes the run is in the output above "
                     "(%aimu resume puts it into the next cell).")
        return lines
    if checkpoint:
        lines.append(f"Saved checkpoint {checkpoint}.")
    if resume_code:
        lines.append("Resume with this code (%aimu resume puts it in a cell):")
        lines.append("")
        lines.extend("    " + line for line in resume_code.splitlines())
    return lines


def shorten(exc: BaseException, message: str, *, head: str = "aimu:") -> BaseException:
    """Make IPython show ``exc`` as ``message`` (plus what its run saved: ``exc.shown``, set
    by ``wb.show``) instead of a traceback."""
    shown = getattr(exc, "shown", None)
    note = getattr(shown, "checkpoint", None) or {}
    lines = short_lines(message, note.get("resume_code"), note.get("path"), head=head,
                        code_above=bool(getattr(shown, "displayed", False)),
                        placed_below=bool(note.get("placed_below")))
    try:
        exc._render_traceback_ = lambda: list(lines)  # type: ignore[attr-defined]
    except AttributeError:    # an exception type with __slots__: it keeps its traceback
        pass
    return exc


def describe(exc: BaseException, *, typed: bool = False) -> str:
    """One or two lines for a failure: the message, and where it names the fix, the fix
    (``typed``: always led by the exception's type, as ``wb.show`` shows it)."""
    from workbench import errors

    if isinstance(exc, KeyboardInterrupt):
        return ("KeyboardInterrupt: " if typed else "") + "interrupted; the partial answer is kept above."
    if typed:
        return f"{type(exc).__name__}: {str(exc) or type(exc).__name__}"
    message = str(exc) or type(exc).__name__
    if isinstance(exc, (errors.ModelStringError, errors.UnknownProviderError)):
        return f"{message}\nList valid models with: %aimu models"
    if isinstance(exc, errors.ModelNotFoundError):
        return f"Unknown model: {message}\nList catalog models with: %aimu models"
    if isinstance(exc, errors.WorkbenchError):
        return message
    return f"{type(exc).__name__}: {message}"
