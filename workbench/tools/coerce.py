"""Validate and coerce the arguments a model sent to a tool, against its Python annotations.

Models send JSON: numbers as strings, objects as dicts, sometimes an object as a JSON
string. ``coerce`` turns what is unambiguous into the annotated type ("3" -> 3, a dict ->
a dataclass or pydantic instance) and rejects the rest with an ``ArgumentError`` whose
message says which argument is wrong and what was expected, so the model can fix it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import inspect
import json
import types
import typing
from typing import Any, Literal, Union

from workbench.tools.schema import is_pydantic_model


class ArgumentError(ValueError):
    """An argument from the model does not fit the tool's signature."""


def _fail(path: str, expected: str, value: Any) -> ArgumentError:
    shown = json.dumps(value, default=str)[:120] if not isinstance(value, str) else repr(value[:120])
    return ArgumentError(f"argument {path!r}: expected {expected}, got {shown}")


def _maybe_json(value: Any, kinds: tuple[type, ...]) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, kinds):
            return parsed
    return value


def coerce(value: Any, tp: Any, path: str) -> Any:
    """``value`` as an instance of ``tp``, or an ArgumentError naming ``path``."""
    if tp is inspect.Parameter.empty or tp is Any or tp is object:
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return coerce(value, args[0], path)
    if tp is type(None):
        if value is None:
            return None
        raise _fail(path, "null", value)
    if tp is bool:
        return _to_bool(value, path)
    if tp is int:
        return _to_int(value, path)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise _fail(path, "a number", value)
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _fail(path, "a string", value)
    if tp in (datetime.datetime, datetime.date):
        if isinstance(value, tp):
            return value
        try:
            return tp.fromisoformat(str(value))
        except ValueError:
            raise _fail(path, f"an ISO {tp.__name__}", value) from None
    if origin is Literal:
        for option in args:
            if value == option and type(value) is type(option):
                return option
        for option in args:  # "3" for Literal[3]
            try:
                if coerce(value, type(option), path) == option:
                    return option
            except ArgumentError:
                pass
        raise _fail(path, "one of " + ", ".join(json.dumps(a, default=str) for a in args), value)
    if origin in (Union, types.UnionType):
        return _union(value, args, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        for member in tp:
            if member.value == value or (isinstance(value, str) and str(member.value) == value):
                return member
        for member in tp:
            if member.name == value:
                return member
        raise _fail(path, "one of " + ", ".join(json.dumps(m.value, default=str) for m in tp), value)
    if tp in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset) \
            or origin in (typing.Sequence,) or _abc(origin, "Sequence", "Iterable"):
        return _sequence(value, tp, origin, args, path)
    if tp is dict or origin is dict or _abc(origin, "Mapping"):
        value = _maybe_json(value, (dict,))
        if not isinstance(value, dict):
            raise _fail(path, "an object", value)
        if len(args) == 2:
            return {k: coerce(v, args[1], f"{path}.{k}") for k, v in value.items()}
        return dict(value)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass(value, tp, path)
    if is_pydantic_model(tp):
        if isinstance(value, tp):
            return value
        value = _maybe_json(value, (dict,))
        try:
            return tp.model_validate(value)
        except Exception as exc:  # pydantic.ValidationError, named without importing pydantic
            raise ArgumentError(f"argument {path!r}: {exc}") from None
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _fail(path, tp.__name__, value)
    return value


def _abc(origin: Any, *names: str) -> bool:
    import collections.abc as abc

    return origin is not None and any(origin is getattr(abc, n) for n in names)


def _to_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise _fail(path, "true or false", value)


def _to_int(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
    raise _fail(path, "an integer", value)


def _union(value: Any, args: tuple, path: str) -> Any:
    if value is None and type(None) in args:
        return None
    arms = [a for a in args if a is not type(None)]
    # An exact type match first, so 3 stays an int in int | str and "3" stays a str.
    for arm in arms:
        if isinstance(arm, type) and type(value) is arm:
            return value
    errors = []
    for arm in arms:
        try:
            return coerce(value, arm, path)
        except ArgumentError as exc:
            errors.append(str(exc))
    raise ArgumentError(f"argument {path!r}: no option of the union fits ({'; '.join(errors)})")


def _sequence(value: Any, tp: Any, origin: Any, args: tuple, path: str) -> Any:
    value = _maybe_json(value, (list,))
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise _fail(path, "an array", value)
    kind = origin or tp
    items = list(value)
    if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(items) != len(args):
            raise _fail(path, f"an array of {len(args)} items", value)
        return tuple(coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(items, args)))
    item_tp = args[0] if args else Any
    out = [coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(items)]
    if kind in (tuple, set, frozenset):
        return kind(out)
    return out


def _dataclass(value: Any, tp: type, path: str) -> Any:
    if isinstance(value, tp):
        return value
    value = _maybe_json(value, (dict,))
    if not isinstance(value, dict):
        raise _fail(path, f"an object ({tp.__name__})", value)
    hints = typing.get_type_hints(tp)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ArgumentError(f"argument {path!r}: unknown field(s) {', '.join(unknown)}; "
                            f"{tp.__name__} has {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = coerce(value[name], hints.get(name, Any), f"{path}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ArgumentError(f"argument {path!r}: missing required field {name!r} of {tp.__name__}")
    return tp(**kwargs)


def bind_arguments(fn: Any, arguments: Any) -> dict[str, Any]:
    """The keyword arguments to call ``fn`` with, checked and coerced; ArgumentError otherwise."""
    arguments = _maybe_json(arguments, (dict,)) if arguments not in (None, "") else {}
    if not isinstance(arguments, dict):
        raise ArgumentError(f"the arguments must be a JSON object, got {str(arguments)[:200]!r}")
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    params = {n: p for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = sorted(set(arguments) - set(params))
    if unknown and not takes_kwargs:
        raise ArgumentError(f"unknown argument(s) {', '.join(unknown)}; the tool takes "
                            f"{', '.join(params) or 'no arguments'}")
    missing = [n for n, p in params.items() if p.default is p.empty and n not in arguments]
    if missing:
        raise ArgumentError(f"missing required argument(s) {', '.join(missing)}")
    out = {}
    for name, value in arguments.items():
        param = params.get(name)
        tp = hints.get(name, param.annotation) if param is not None else Any
        out[name] = coerce(value, tp, name)
    return out
