"""Checkpoints: save the live state of a runner (or a client), load it, resume from it.

    wb.save_checkpoint(agent, "run.json")              # any time, also right after a failure
    agent.restore(wb.load_checkpoint("run.json"))      # the next run() keeps this history
    with wb.auto_checkpoint(chain, "run.json"):        # saved after every completed step
        chain.run(task)

A checkpoint is a JSON object: ``type`` (the runner class, or ``"client"``), ``name``,
``version``, ``messages`` (for a runner: ``{runner name: history}``; for a client: its
history list, which ``client.restore`` accepts as is), ``position`` (step, round, partial
outputs) and ``saved_at``. Writes are atomic: a temporary file in the same folder, flushed
and fsynced, then ``os.replace``d over the target, so a crash mid-write leaves the
previous checkpoint whole. Secrets never reach the file: API keys of every client
involved (and of the providers' environment variables) are redacted from the text.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import CheckpointError

CHECKPOINT_VERSION = 1
REDACTED = "[REDACTED]"
_PLACEHOLDERS = {"not-needed", "EMPTY", "ollama", "no-key"}  # dummy keys for keyless local servers


def checkpoint_state(obj: Any) -> dict[str, Any]:
    """The checkpoint dict of a Runner or a BaseModelClient."""
    from workbench.agents.runner import Runner
    from workbench.models.client import BaseModelClient

    if isinstance(obj, Runner):
        state = obj.checkpoint()
    elif isinstance(obj, BaseModelClient):
        state = {"type": "client", "name": obj.model_string, "version": CHECKPOINT_VERSION,
                 "model": obj.model_string, "system_message": obj.system_message,
                 "messages": [dict(m) for m in obj.messages], "position": {}}
    elif isinstance(obj, dict) and "type" in obj and "messages" in obj:
        state = dict(obj)
    else:
        raise TypeError(f"save_checkpoint() takes a Runner (Agent, Chain, ...) or a model client, "
                        f"got {type(obj).__name__}.")
    state["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return state


def _secrets(obj: Any) -> list[str]:
    """Credential strings that must not appear in a checkpoint of ``obj``."""
    from workbench.models.registry import PROVIDERS

    found: set[str] = set()
    clients = obj.clients() if hasattr(obj, "clients") else [obj]
    for client in clients:
        for holder in (client, getattr(client, "_sdk", None), getattr(client, "_async_sdk", None),
                       getattr(client, "_client", None)):
            from workbench.models.redact import url_secrets

            found.update(url_secrets(getattr(holder, "base_url", None) if holder is not None else None))
            for attr in ("api_key", "_api_key"):
                value = getattr(holder, attr, None) if holder is not None else None
                if callable(getattr(value, "get", None)) and not isinstance(value, dict):
                    value = value.get()  # a wrapped secret
                if isinstance(value, str) and len(value) >= 6 and value not in _PLACEHOLDERS:
                    found.add(value)
    for info in PROVIDERS.values():
        value = os.environ.get(info.api_key_env or "")
        if value and len(value) >= 6:
            found.add(value)
    return sorted(found, key=len, reverse=True)


def _redact(value: Any, secrets: list[str]) -> Any:
    """``value`` with every occurrence of a secret replaced, in keys and strings at any depth."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v, secrets) for v in value]
    return value


def _not_json(value: Any) -> Any:
    raise CheckpointError(f"Cannot save {type(value).__name__} in a checkpoint: only JSON data "
                          "(str, numbers, lists, dicts) can be saved. Keep other objects out of messages.")


def _unwrap_async(obj: Any) -> Any:
    """An aio client keeps its conversation in the sync client it wraps (``_state``)."""
    from workbench.models.client import BaseModelClient

    inner = getattr(obj, "__dict__", {}).get("_state")
    return inner if isinstance(inner, BaseModelClient) and not isinstance(obj, BaseModelClient) else obj


def save_checkpoint(runner_or_client: Any, path: str | os.PathLike) -> Path:
    """Write the live state of a runner or client (sync or ``workbench.aio``) to ``path``
    atomically; returns the path."""
    runner_or_client = _unwrap_async(runner_or_client)
    # Known secret values are removed wherever they appear (API keys, the providers' key
    # variables, credentials in base URLs); names are never guessed at: a worker called
    # "secret_santa" keeps its output.
    state = checkpoint_state(runner_or_client)
    secrets = _secrets(runner_or_client)
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(_redact(state, secrets), f, ensure_ascii=False, indent=1, default=_not_json)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)
    return target


def _fsync_dir(folder: Path) -> None:
    # The rename itself is durable only once the directory entry is flushed (POSIX).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint at ``path`` as a dict; CheckpointError naming the path when it is unusable."""
    target = Path(path).expanduser()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"No checkpoint at {str(target)!r}: check the path "
                              "(save_checkpoint(runner, path) writes one).") from None
    except OSError as exc:
        raise CheckpointError(f"Cannot read the checkpoint {str(target)!r}: {exc}.") from None
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"The checkpoint {str(target)!r} is corrupt (not valid JSON: {exc}); restore an "
                              "earlier copy or start the run fresh.") from None
    if not isinstance(state, dict) or "type" not in state or "messages" not in state:
        raise CheckpointError(f"{str(target)!r} is not a workbench checkpoint (no 'type' and 'messages').")
    if int(state.get("version", 1)) > CHECKPOINT_VERSION:
        raise CheckpointError(f"The checkpoint {str(target)!r} has version {state['version']}, newer than this "
                              f"library reads ({CHECKPOINT_VERSION}); upgrade aimu-workbench.")
    return state


class AutoCheckpoint:
    """Saves ``target`` to ``path`` after every completed iteration or step of a Runner (and
    when a run ends or fails), or after every ``chat()`` of a model client. Attached on
    creation; ``detach()`` (or leaving the ``with`` block) stops it."""

    def __init__(self, target: Any, path: str | os.PathLike, *, on_finish: bool = True):
        from workbench.agents.runner import Runner
        from workbench.models.client import BaseModelClient

        self.target = target
        self.path = Path(path).expanduser()
        self.on_finish = on_finish
        self.saves = 0
        if isinstance(target, Runner):
            target._checkpoint_hooks.append(self)
        elif isinstance(target, BaseModelClient):
            self._wrap_chat(target)
        else:
            raise TypeError(f"auto_checkpoint() takes a Runner (Agent, Chain, ...) or a model client, "
                            f"got {type(target).__name__}.")

    @property
    def runner(self) -> Any:
        return self.target

    def __call__(self, runner: Any, event: str) -> None:
        if event == "finished" and not self.on_finish:
            return
        self.save()  # the whole top-level target, whichever runner fired

    def save(self) -> None:
        save_checkpoint(self.target, self.path)
        self.saves += 1

    # A client has no hook list: its chat() is wrapped on the instance (detach() unwraps).
    def _wrap_chat(self, client: Any) -> None:
        original = client.chat

        def chat(*args: Any, **kwargs: Any) -> Any:
            try:
                out = original(*args, **kwargs)
            except BaseException:
                self._save_or_warn()      # never masks the chat's own exception
                raise
            if isinstance(out, str):
                self._save_or_warn()
                return out
            return self._watch(out)

        chat.__wrapped__ = original
        chat.__auto_checkpoint__ = self
        client.chat = chat

    def _watch(self, chunks: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from chunks
        finally:  # finished, failed or abandoned: the history is consistent either way
            self._save_or_warn()

    def _save_or_warn(self) -> bool:
        """Save; a failure is a RuntimeWarning naming the path and the reason (the chat goes on,
        and its own exception, if any, is the one raised)."""
        import warnings

        try:
            self.save()
            return True
        except Exception as exc:
            warnings.warn(f"auto_checkpoint could not save {str(self.path)!r}: {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=3)
            return False

    def detach(self) -> None:
        hooks = getattr(self.target, "_checkpoint_hooks", None)
        if hooks is not None and self in hooks:
            hooks.remove(self)
        if getattr(self.target.__dict__.get("chat"), "__auto_checkpoint__", None) is self:
            del self.target.chat

    def __enter__(self) -> "AutoCheckpoint":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def __repr__(self) -> str:
        name = getattr(self.target, "name", None) or getattr(self.target, "model_string", "?")
        return f"<AutoCheckpoint {name!r} -> {str(self.path)!r} saves={self.saves}>"


def auto_checkpoint(target: Any, path: str | os.PathLike, *, on_finish: bool = True) -> AutoCheckpoint:
    """Save the live state of a runner (after every completed iteration) or a client (after every chat)."""
    return AutoCheckpoint(target, path, on_finish=on_finish)


@contextmanager
def checkpoint_on_failure(runner_or_client: Any, path: str | os.PathLike) -> Iterator[None]:
    """``with checkpoint_on_failure(agent, p): agent.run(...)``: save the live state if the block fails."""
    try:
        yield
    except BaseException:
        save_checkpoint(runner_or_client, path)
        raise
