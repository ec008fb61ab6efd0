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

Line commands: ``%aimu model [NAME]``, ``models``, ``history``, ``reset``, ``cache``,
``clear hf|llamacpp|all``, ``checkpoints``, ``help``.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

FORMATS = ("markdown", "code", "json", "text")
VAR_PATTERN = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
CODE_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)

LINE_HELP = """%aimu line commands:
  %aimu model [NAME]        show or set the session model (e.g. hf:workbench-tiny)
  %aimu models              list catalog models and providers
  %aimu history             the session model's conversation
  %aimu reset               forget the session model's conversation
  %aimu cache               the memory gauge of loaded weights
  %aimu clear hf|llamacpp|all   free cached weights
  %aimu checkpoints         saved checkpoints in .workbench/checkpoints/
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
    """Replace ``{name}`` for names defined in ``namespace``; leave every other brace alone."""
    def sub(match: re.Match) -> str:
        name = match.group(1)
        return str(namespace[name]) if name in namespace else match.group(0)
    return VAR_PATTERN.sub(sub, text)


def extract_code(text: str) -> str:
    """The fenced code blocks of an answer (joined), or the whole answer when there are none."""
    blocks = [b.rstrip("\n") for b in CODE_FENCE.findall(text)]
    return "\n\n".join(blocks) if blocks else text.strip()


def parse_json(text: str) -> Any:
    body = extract_code(text)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise UsageError(f"--format json: the answer is not valid JSON ({exc}); the text is kept as is.") from None


def short_error(exc: BaseException) -> str:
    """One or two lines for a failure in a magic (no traceback wall)."""
    from workbench import errors

    message = str(exc) or type(exc).__name__
    if isinstance(exc, (errors.ModelStringError, errors.UnknownProviderError)):
        return f"{message}\nList valid models with: %aimu models"
    if isinstance(exc, errors.ModelNotFoundError):
        return f"Unknown model: {message}\nList catalog models with: %aimu models"
    if isinstance(exc, errors.WorkbenchError):
        return message
    return f"{type(exc).__name__}: {message}"


def report(message: str) -> None:
    print(f"aimu: {message}", file=sys.stderr)


@magics_class
class AimuMagics(Magics):
    def __init__(self, shell, session):
        super().__init__(shell)
        self.session = session

    @line_cell_magic
    def aimu(self, line: str, cell: str | None = None):
        try:
            if cell is None:
                return self._line(line)
            return self._cell(line, cell)
        except UsageError as exc:
            report(str(exc))
        except KeyboardInterrupt:
            report("interrupted.")
        except Exception as exc:
            report(short_error(exc))
        return None

    # -- %%aimu -------------------------------------------------------------------------------
    def _cell(self, line: str, cell: str) -> None:
        from workbench.notebook import checkpoint_cells as cells
        from workbench.notebook.show import show

        args = cell_parser().parse_args(shlex.split(line))
        model = args.model or self.session.model
        prompt = (interpolate(cell, self.shell.user_ns) if args.vars else cell).rstrip()
        if not prompt.strip():
            raise UsageError("the cell is empty: write the prompt below the %%aimu line")
        tools = self._tools(args.tools)
        client = self.session.client(model, system=args.system, new=args.new)
        if args.restore:
            client.restore(cells.load(args.restore))
        options = {k: v for k, v in (("thinking", args.thinking), ("max_tokens", args.max_tokens),
                                     ("temperature", args.temperature), ("seed", args.seed)) if v is not None}
        saved_tools = client.tools
        if tools is not None:
            client.tools = tools
        path = self.session.checkpoint_path(model)
        try:
            stream = client.chat(prompt, generate_kwargs=options, stream=True)
            result = show(stream, model=client.model_string, runner=client, raise_errors=False,
                          checkpoint_path=path, resume_code=cells.resume_code_for_magic(model, path),
                          metadata={"parameters": options, "format": args.format,
                                    "tools": [getattr(t, "__name__", str(t)) for t in (tools or [])]},
                          render=args.format)
        finally:
            client.tools = saved_tools
        self.session.last = result
        if result.status == "error":
            report(result.error + ("\nList valid models with: %aimu models" if "NotFound" in result.error else ""))
        elif result.status == "interrupted":
            report("interrupted; the partial answer is kept above" +
                   (" and the next cell resumes the conversation." if result.checkpoint else "."))
        value: Any = result
        if args.format == "code" and result.status == "done":
            self.shell.set_next_input(extract_code(result), replace=False)
        elif args.format == "json" and result.status == "done":
            value = parse_json(result)
        if args.output:
            self.shell.user_ns[args.output] = value

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
            raise UsageError(f"unknown command {command!r}; commands: model, models, history, reset, cache, "
                             "clear, checkpoints, help")
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

    def _cmd_history(self, _rest) -> None:
        client = self.session.clients.get(self.session.key(self.session.model))
        if client is None or not client.messages:
            print(f"no conversation yet with {self.session.model}")
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
        from workbench.notebook.gauge import human_bytes

        print(f"cleared {what}: freed {human_bytes(freed)}")

    def _cmd_checkpoints(self, _rest) -> None:
        from workbench.notebook.checkpoint_cells import list_checkpoints

        rows = list_checkpoints()
        if not rows:
            print("no checkpoints in .workbench/checkpoints/")
            return
        for row in rows:
            what = f"{row.get('type') or '?'} {row.get('name') or ''}".strip()
            print(f"{row['modified']}  {row['path']}  ({what}, {row.get('messages', '?')} messages)")
        print('Restore one with: client_or_agent.restore(wb.load_checkpoint("PATH")), '
              "or %%aimu MODEL --restore PATH")
