"""``%%aimu`` and ``%aimu``: talk to a model from a notebook cell.

    %load_ext workbench
    %%aimu [MODEL] [--system S] [--thinking | --no-thinking] [--format markdown|code|json|text]
           [--tools name,...] [-o VAR] [--new] [--vars] [--max-tokens N] [--temperature T]
           [--restore PATH]
    Your prompt...

The conversation continues across cells: the session keeps one client per model string.
Running a cell twice sends its prompt twice (a second turn): use ``--new`` (or
``%aimu reset``) to start over.

``--vars`` interpolates ``{name}`` from the notebook namespace: only a single-brace plain
identifier that exists there is replaced; every other brace (code, JSON, ``{{x}}``, an
undefined name) passes through untouched. Without ``--vars`` the cell is sent verbatim.

A cell whose model call fails (a missing key, an unknown provider, a refused connection,
Kernel > Interrupt) ends in error with a few lines instead of a traceback, so "Run All"
stops and ``nbconvert --execute`` fails; its output shows the code that resumes the
conversation, and ``%aimu resume`` puts that code into the next cell.

``--format code`` puts the answer's fenced code (or an answer that parses as Python) into
the next cell, once: re-running the cell with the same code inserts nothing new; prose
gets a message, not a cell. ``-o VAR`` stores the answer text (a ``str`` that also carries
``thinking``, ``usage`` and ``status``).

Line commands: ``%aimu model [NAME]``, ``models``, ``history [MODEL]``, ``reset``,
``regenerate [MODEL]``, ``reload [MODEL]``, ``resume``, ``cache``, ``clear hf|llamacpp|all``,
``checkpoints [--clean]``, ``runs [STORE]``, ``run [ID] [STORE]``, ``log [N] [--search WORDS]``, ``help``.
"""

from __future__ import annotations

import argparse
import ast
import json
import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from workbench.prompts.answers import code_blocks, extract_code

FORMATS = ("markdown", "code", "json", "text")

LINE_HELP = """%aimu line commands:
  %aimu model [NAME]        show or set the session model (e.g. hf:workbench-tiny)
  %aimu models              list catalog models and providers
  %aimu history [MODEL]     a conversation of this session (default: the session model's)
  %aimu reset               forget the session model's conversation
  %aimu regenerate [MODEL]  answer the last prompt again, replacing the last answer
  %aimu reload [MODEL]      load a model's weights again after a clear
  %aimu resume              put the last failed run's resume code into the next cell
  %aimu cache               the memory gauge of loaded weights
  %aimu clear hf|llamacpp|all   free cached weights
  %aimu checkpoints [--clean]   saved checkpoints (--clean keeps the newest per model)
  %aimu runs [STORE]        stored benchmark runs (default: the last store used, or .workbench/runs.db)
  %aimu run [ID] [STORE]    a stored run's panel, from SQLite alone (ID: a prefix; default the newest)
  %aimu log [N] [--search WORDS]   the last N calls of the call log (wb.log.enable() turns it on)
  %aimu help                this help
%%aimu [MODEL] [--system S] [--thinking|--no-thinking] [--format markdown|code|json|text]
       [--tools a,b] [-o VAR] [--new] [--vars] [--max-tokens N] [--temperature T] [--restore PATH]
  sends the cell to the model; the conversation continues across cells."""


class UsageError(Exception):
    """Bad magic arguments (shown as one line, no traceback)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would sys.exit()
        raise UsageError(f"{message}. See %aimu help.")


def cell_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%%aimu", add_help=False)
    p.add_argument("model", nargs="?")
    p.add_argument("--system", "-s")
    p.add_argument("--thinking", dest="thinking", action="store_true", default=None)
    p.add_argument("--no-thinking", dest="thinking", action="store_false")
    p.add_argument("--format", "-f", choices=FORMATS, default="markdown")
    p.add_argument("--tools", "-t")
    p.add_argument("-o", "--output", dest="output")
    p.add_argument("--new", action="store_true")
    p.add_argument("--vars", action="store_true")
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--restore")
    return p


def interpolate(text: str, namespace: dict[str, Any]) -> str:
    """Replace ``{name}`` for names defined in ``namespace``; leave every other brace alone
    (the rule of ``PromptTemplate``, so a cell and a template fill the same way)."""
    from workbench.prompts.template import fill

    return fill(text, namespace)


def code_of(text: str) -> str | None:
    """What ``--format code`` may put into a cell: fenced code, or an answer that parses as
    Python (one bare word does not count: it is prose); None for prose."""
    blocks = code_blocks(text)
    if blocks:
        return "\n\n".join(blocks)
    body = text.strip()
    if not body:
        return None
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return None
    trivial = len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and isinstance(
        tree.body[0].value, (ast.Name, ast.Constant))
    return None if trivial else body


def parse_json(text: str) -> Any:
    body = extract_code(text)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise UsageError(f"--format json: the answer is not valid JSON ({exc}); the text is kept as is.") from None


@magics_class
class AimuMagics(Magics):
    def __init__(self, shell, session):
        super().__init__(shell)
        self.session = session

    @line_cell_magic
    def aimu(self, line: str, cell: str | None = None):
        from workbench.notebook import failures

        # A failure fails the cell (Run All stops, nbconvert --execute exits non-zero), shown
        # in a few lines: the exception keeps its type, an interrupt stays KeyboardInterrupt.
        try:
            if cell is None:
                return self._line(line)
            return self._cell(line, cell)
        except (KeyboardInterrupt, Exception) as exc:
            failures.shorten(exc, str(exc) if isinstance(exc, UsageError) else failures.describe(exc))
            raise

    # -- %%aimu -------------------------------------------------------------------------------
    def _cell(self, line: str, cell: str) -> None:
        from workbench.notebook import checkpoint_cells as cells

        args = cell_parser().parse_args(shlex.split(line))
        model = args.model or self.session.model
        prompt = (interpolate(cell, self.shell.user_ns) if args.vars else cell).rstrip()
        if not prompt.strip():
            raise UsageError("the cell is empty: write the prompt below the %%aimu line")
        tools = self._tools(args.tools)
        client = self.session.client(model, system=args.system, new=args.new)
        if args.restore:
            client.restore(cells.load(args.restore))
        from workbench.notebook import frontend_comm

        if frontend_comm.take_regenerate(frontend_comm.running_cell_id()):
            # The answer's Regenerate button: this run replaces the cell's last exchange.
            if not self._rewind(client, prompt):
                print("aimu: the conversation has no earlier answer to this prompt to replace; "
                      "it is sent as a new turn.")
        options = {k: v for k, v in (("thinking", args.thinking), ("max_tokens", args.max_tokens),
                                     ("temperature", args.temperature), ("seed", args.seed)) if v is not None}
        result = self._turn(model, client, prompt, options, tools=tools, fmt=args.format)
        value: Any = result.answer()
        if args.format == "code":
            self._offer_code(result)
        elif args.format == "json":
            value = parse_json(result)
        if args.output:
            self.shell.user_ns[args.output] = value

    def _turn(self, model: str, client, prompt: str, options: dict, *, tools: list | None = None,
              fmt: str = "markdown"):
        """One streamed turn shown live, checkpointed; the session remembers its result."""
        from workbench.notebook import checkpoint_cells as cells
        from workbench.notebook.show import show

        saved_tools = client.tools
        if tools is not None:
            client.tools = tools
        path = self.session.checkpoint_path(model)
        try:
            stream = client.chat(prompt, generate_kwargs=options, stream=True)
            result = show(stream, model=client.model_string, runner=client,
                          checkpoint_path=path, resume_code=cells.resume_code_for_magic(model, path),
                          metadata={"parameters": options, "format": fmt,
                                    "tools": [getattr(t, "__name__", str(t)) for t in (tools or [])]},
                          render=fmt)
        except (KeyboardInterrupt, Exception) as exc:
            self.session.last = getattr(exc, "shown", None)
            raise
        finally:
            client.tools = saved_tools
        self.session.last = result
        return result

    def _offer_code(self, answer: str) -> None:
        """Put the answer's code into the next cell, once per cell and code (see module doc)."""
        code = code_of(answer)
        if code is None:
            print("aimu: --format code: the answer has no code block and is not Python, so no cell "
                  "was added (ask for a fenced code block).")
            return
        key = self.session.cell_key(self.shell)
        if self.session.inserted.get(key) == code:
            print("aimu: the same code is already in the cell below (not added again).")
            return
        self.session.inserted[key] = code
        self.shell.set_next_input(code, replace=False)

    def _tools(self, names: str | None) -> list | None:
        if not names:
            return None
        found = []
        for name in (n.strip() for n in names.split(",") if n.strip()):
            value = self.shell.user_ns.get(name)
            if value is None or not callable(value):
                raise UsageError(f"--tools: no function named {name!r} in the notebook; define it "
                                 "(e.g. with @wb.tool) before this cell")
            found.append(value)
        return found

    # -- %aimu ----------------------------------------------------------------------------------
    def _line(self, line: str) -> None:
        words = shlex.split(line)
        command, rest = (words[0].lower(), words[1:]) if words else ("help", [])
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            raise UsageError(f"unknown command {command!r}; commands: model, models, history, reset, regenerate, "
                             "reload, resume, cache, clear, checkpoints, runs, run, log, help")
        handler(rest)

    def _cmd_help(self, _rest) -> None:
        print(LINE_HELP)

    def _cmd_model(self, rest) -> None:
        if rest:
            from workbench.models.strings import resolve_model

            resolve_model(rest[0])  # fail now on a bad string, not at the first cell
            self.session.model = rest[0]
        print(f"session model: {self.session.model}")

    def _cmd_models(self, _rest) -> None:
        from workbench.models.registry import PROVIDERS
        from workbench.models.spec import CATALOGS

        for provider, catalog in CATALOGS.items():
            print(f"{provider}:")
            for member in catalog:
                flags = [f for f, on in (("tools", member.supports_tools), ("thinking", member.supports_thinking),
                                         ("vision", member.supports_vision)) if on]
                print(f"  {provider}:{member.id}" + (f"  [{', '.join(flags)}]" if flags else ""))
        print("providers: " + ", ".join(sorted(PROVIDERS)))
        print("Any model id works as 'provider:model_id' (unlisted ids get conservative flags).")

    def _cmd_history(self, rest) -> None:
        model = rest[0] if rest else self.session.model
        client = self.session.clients.get(self.session.key(model))
        if client is None or not client.messages:
            others = [key for key, c in self.session.clients.items() if c.messages]
            print(f"no conversation yet with {model}" +
                  (f"; conversations in this session: {', '.join(others)}" if others else ""))
            return
        for message in client.messages:
            content = message.get("content")
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            extra = f" (tool calls: {len(message['tool_calls'])})" if message.get("tool_calls") else ""
            print(f"[{message['role']}]{extra} {text}")

    def _cmd_reset(self, _rest) -> None:
        client = self.session.clients.get(self.session.key(self.session.model))
        if client is not None:
            client.reset()
        print(f"conversation with {self.session.model} reset")

    def _cmd_reload(self, rest) -> None:
        model = rest[0] if rest else self.session.model
        client = self.session.clients.get(self.session.key(model))
        if client is None:
            raise UsageError(f"no client for {model} in this session yet; run a %%aimu cell with it first")
        if not callable(getattr(client, "reload", None)):
            raise UsageError(f"{model} has no local weights to reload (only hf: and llamacpp: models do)")
        client.reload()
        print(f"reloaded the weights of {model}; the conversation is kept")

    @staticmethod
    def _last_prompt(client) -> tuple[int | None, Any]:
        """(index of the last user message, its content) in ``client``'s history."""
        messages = list(client.messages) if client is not None else []
        last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
        return last, (messages[last].get("content") if last is not None else None)

    def _rewind(self, client, prompt: str) -> bool:
        """Take the last exchange out of the history when its prompt is ``prompt``."""
        last, content = self._last_prompt(client)
        if last is None or content != prompt:
            return False
        client.restore(list(client.messages)[:last])
        return True

    def _cmd_regenerate(self, rest) -> None:
        model = rest[0] if rest else self.session.model
        client = self.session.clients.get(self.session.key(model))
        last, prompt = self._last_prompt(client)
        if last is None:
            raise UsageError(f"nothing to regenerate: no conversation with {model} yet")
        if not isinstance(prompt, str):
            raise UsageError("the last prompt has images or parts: run its cell again with --new instead")
        # The last exchange is replaced, not repeated: the history goes back to before it.
        self._rewind(client, prompt)
        self._turn(model, client, prompt, {})

    def _cmd_resume(self, _rest) -> None:
        from workbench.notebook import checkpoint_cells as cells

        code, offered = cells.pending_resume()
        if code is None:
            print("nothing to resume: no run failed or was interrupted in this kernel")
        elif cells.offer_resume_again():
            # The JupyterLab extension keeps one resume cell, below the failed cell.
            print("the cell below the failed cell holds the resume code; run it to continue:\n\n" + code)
        elif offered:
            print("the resume code is already in a cell (added by an earlier %aimu resume):\n\n" + code)
        else:
            cells.mark_resume_offered()
            self.shell.set_next_input(code, replace=False)
            print("the next cell holds the resume code; run it to continue")

    def _cmd_cache(self, _rest) -> None:
        from workbench.notebook.show import show_cache

        show_cache()

    def _cmd_clear(self, rest) -> None:
        import workbench as wb

        what = (rest[0].lower() if rest else "")
        if what not in ("hf", "llamacpp", "all"):
            raise UsageError("clear what? %aimu clear hf | llamacpp | all")
        freed = 0
        if what in ("hf", "all"):
            freed += int(wb.clear_hf_cache() or 0)
        if what in ("llamacpp", "all"):
            freed += int(wb.clear_llamacpp_cache() or 0)
        from workbench.notebook.memory_rows import human_bytes

        print(f"cleared {what}: freed {human_bytes(freed)}")

    def _cmd_checkpoints(self, rest) -> None:
        from workbench.notebook.checkpoint_cells import clean_checkpoints, list_checkpoints

        if rest and rest[0] == "--clean":
            keep = {p.resolve() for p in self.session.checkpoints.values()}
            removed = clean_checkpoints(keep_per_label=1, keep=keep)
            print(f"removed {len(removed)} checkpoint(s); kept the newest per model and this session's")
            return
        if rest:
            raise UsageError("%aimu checkpoints [--clean]")
        rows = list_checkpoints()
        if not rows:
            print("no checkpoints in .workbench/checkpoints/")
            return
        for row in rows:
            what = f"{row.get('type') or '?'} {row.get('name') or ''}".strip()
            print(f"{row['modified']}  {row['path']}  ({what}, {row.get('messages', '?')} messages)")
        print('Restore one with: client_or_agent.restore(wb.load_checkpoint("PATH")), '
              "or %%aimu MODEL --restore PATH")

    def _cmd_runs(self, rest) -> None:
        from workbench.notebook.runs_table import show_runs

        if len(rest) > 1:
            raise UsageError("%aimu runs [STORE]")
        show_runs(rest[0] if rest else None)

    def _cmd_log(self, rest) -> None:
        from workbench.notebook.log_table import show_log

        n, search = 20, None
        if "--search" in rest:
            at = rest.index("--search")
            search, rest = " ".join(rest[at + 1:]), rest[:at]
            if not search:
                raise UsageError("%aimu log [N] [--search WORDS]")
        if len(rest) > 1 or (rest and not rest[0].isdigit()):
            raise UsageError("%aimu log [N] [--search WORDS]")
        if rest:
            n = int(rest[0])
        show_log(n, search)

    def _cmd_run(self, rest) -> None:
        from workbench.evals.benchmark import last_store
        from workbench.evals.results import open_run

        if len(rest) > 2:
            raise UsageError("%aimu run [ID] [STORE]")
        store = rest[1] if len(rest) > 1 else last_store()
        open_run(store, rest[0] if rest else None)._ipython_display_()
