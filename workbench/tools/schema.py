"""JSON Schema for Python annotations, and docstring parsing for tool descriptions.

A tool's ``parameters`` must be complete JSON Schema on its own: nested dataclasses and
pydantic models go under ``$defs`` at the root of ``parameters`` and are referenced as
``#/$defs/Name``, so the schema validates without any outside context.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import inspect
import re
import types
import typing
from typing import Any, Literal, Union

from workbench.errors import ToolError

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
_NONE = type(None)


def is_pydantic_model(tp: Any) -> bool:
    # Checked by attribute so that pydantic is never imported here.
    return isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")


def type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of one annotation; named object types are added to ``defs``."""
    if tp is inspect.Parameter.empty or tp is Any or tp is object:
        return {}
    if tp in _SIMPLE:
        return {"type": _SIMPLE[tp]}
    if tp is list or tp is tuple or tp is set or tp is frozenset:
        return {"type": "array"}
    if tp is dict:
        return {"type": "object"}
    if tp is datetime.datetime:
        return {"type": "string", "format": "date-time"}
    if tp is datetime.date:
        return {"type": "string", "format": "date"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        schema = dict(type_schema(args[0], defs))
        for extra in args[1:]:
            if isinstance(extra, str):
                schema.setdefault("description", extra)
        return schema
    if origin is Literal:
        values = [v.value if isinstance(v, enum.Enum) else v for v in args]
        kinds = {_SIMPLE.get(type(v)) for v in values} - {None}
        schema: dict[str, Any] = {"enum": values}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
        return schema
    if origin in (Union, types.UnionType):
        arms = [type_schema(a, defs) for a in args]
        return {"anyOf": arms}
    if origin in (list, set, frozenset) or origin is typing.Sequence or _is_abc(origin, "Sequence", "Iterable"):
        schema = {"type": "array", "items": type_schema(args[0], defs) if args else {}}
        if origin in (set, frozenset):
            schema["uniqueItems"] = True
        return schema
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": type_schema(args[0], defs)}
        return {"type": "array", "prefixItems": [type_schema(a, defs) for a in args],
                "minItems": len(args), "maxItems": len(args)}
    if origin is dict or _is_abc(origin, "Mapping"):
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = type_schema(args[1], defs)
        return schema
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        schema = {"enum": values}
        kinds = {_SIMPLE.get(type(v)) for v in values} - {None}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
        return _named(tp, schema, defs)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_schema(tp, defs)
    if is_pydantic_model(tp):
        return _pydantic_schema(tp, defs)
    if _is_typeddict(tp):
        return _typeddict_schema(tp, defs)
    raise ToolError(f"Cannot describe the type {tp!r} as JSON Schema; annotate the argument with a "
                    "JSON-friendly type (str, int, float, bool, list[...], dict[str, ...], Literal, "
                    "Enum, a dataclass or a pydantic model).")


def _is_abc(origin: Any, *names: str) -> bool:
    import collections.abc as abc

    return any(origin is getattr(abc, n) for n in names)


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _named(tp: type, schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    name = tp.__name__
    if name not in defs:
        defs[name] = schema
    return {"$ref": f"#/$defs/{name}"}


def _dataclass_schema(tp: type, defs: dict[str, Any]) -> dict[str, Any]:
    name = tp.__name__
    if name in defs:
        return {"$ref": f"#/$defs/{name}"}
    defs[name] = {}  # placeholder first: a self-referencing dataclass must not recurse forever
    hints = typing.get_type_hints(tp, include_extras=True)
    docs = parse_docstring(inspect.getdoc(tp) or "").params
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(tp):
        if not f.init:
            continue
        prop = dict(type_schema(hints.get(f.name, Any), defs))
        if f.name in docs:
            prop.setdefault("description", docs[f.name])
        if f.default is not dataclasses.MISSING:
            _add_default(prop, f.default)
        elif f.default_factory is dataclasses.MISSING:
            required.append(f.name)
        props[f.name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required,
                              "additionalProperties": False}
    summary = parse_docstring(inspect.getdoc(tp) or "").summary
    if summary and not summary.startswith(f"{name}("):  # skip the auto-generated dataclass doc
        schema["description"] = summary
    defs[name] = schema
    return {"$ref": f"#/$defs/{name}"}


def _typeddict_schema(tp: type, defs: dict[str, Any]) -> dict[str, Any]:
    name = tp.__name__
    if name in defs:
        return {"$ref": f"#/$defs/{name}"}
    defs[name] = {}
    hints = typing.get_type_hints(tp)
    defs[name] = {"type": "object", "properties": {k: type_schema(v, defs) for k, v in hints.items()},
                  "required": sorted(tp.__required_keys__)}
    return {"$ref": f"#/$defs/{name}"}


def _pydantic_schema(tp: type, defs: dict[str, Any]) -> dict[str, Any]:
    # pydantic refers to its nested models as "#/$defs/Name" already; lifting its $defs to
    # our root keeps every reference valid.
    schema = tp.model_json_schema(ref_template="#/$defs/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        defs.setdefault(name, sub)
    defs[tp.__name__] = schema
    return {"$ref": f"#/$defs/{tp.__name__}"}


def _add_default(prop: dict[str, Any], default: Any) -> None:
    if isinstance(default, enum.Enum):
        default = default.value
    if default is None or isinstance(default, (str, int, float, bool, list, dict)):
        prop["default"] = default


def parameters_schema(fn: Any, param_docs: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``parameters`` object of a function's tool spec (``$defs`` at its root)."""
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ToolError(f"Cannot read the type hints of {getattr(fn, '__name__', fn)!r}: {exc}. "
                        "Make every annotation importable where the function is defined.") from exc
    docs = param_docs or {}
    defs: dict[str, Any] = {}
    props: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        prop = dict(type_schema(hints.get(pname, param.annotation), defs))
        if pname in docs:
            prop["description"] = docs[pname]
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        else:
            _add_default(prop, param.default)
        props[pname] = prop
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if defs:
        schema["$defs"] = defs
    return schema


# -- docstrings -------------------------------------------------------------------------------

@dataclasses.dataclass
class Docstring:
    summary: str
    params: dict[str, str]


_GOOGLE_HEAD = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:\s*$")
_SECTION_HEAD = re.compile(r"^[A-Z][A-Za-z ]+:\s*$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_HEAD = re.compile(r"^(Parameters|Other Parameters)\s*$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(:.*)?$")
_SPHINX = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SPHINX_ANY = re.compile(r"^:\w+")


def parse_docstring(doc: str) -> Docstring:
    """Summary and per-argument descriptions from a Google, NumPy or Sphinx style docstring."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    params: dict[str, str] = {}
    summary_lines: list[str] = []
    i = 0
    in_summary = True
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _GOOGLE_HEAD.match(stripped):
            in_summary = False
            i = _google_section(lines, i + 1, params)
            continue
        if _NUMPY_HEAD.match(stripped) and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            in_summary = False
            i = _numpy_section(lines, i + 2, params)
            continue
        m = _SPHINX.match(stripped)
        if m:
            in_summary = False
            text = [m.group(2)]
            i += 1
            while i < len(lines) and lines[i].strip() and not _SPHINX_ANY.match(lines[i].strip()) \
                    and lines[i].startswith((" ", "\t")):
                text.append(lines[i].strip())
                i += 1
            params[m.group(1)] = " ".join(t for t in text if t)
            continue
        if _SPHINX_ANY.match(stripped) or (_SECTION_HEAD.match(stripped) and stripped.rstrip(":") in
                                           ("Returns", "Return", "Raises", "Yields", "Examples", "Example",
                                            "Note", "Notes")):
            in_summary = False
        elif stripped in ("Returns", "Raises", "Examples", "Notes", "Yields") and i + 1 < len(lines) \
                and set(lines[i + 1].strip()) == {"-"}:
            in_summary = False
        if in_summary:
            summary_lines.append(line)
        i += 1
    return Docstring("\n".join(summary_lines).strip(), params)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_section(lines: list[str], i: int, params: dict[str, str]) -> int:
    base: int | None = None
    current: str | None = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _indent(line) == 0:  # the section ended
            return i
        if base is None:
            base = _indent(line)
        m = _GOOGLE_ITEM.match(line.strip())
        if _indent(line) == base and m:
            current = m.group(1).lstrip("*")
            params[current] = m.group(3).strip()
        elif current is not None:
            params[current] = (params[current] + " " + line.strip()).strip()
        i += 1
    return i


def _numpy_section(lines: list[str], i: int, params: dict[str, str]) -> int:
    current: str | None = None
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _indent(line) == 0:
            if i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
                return i  # the next section
            m = _NUMPY_ITEM.match(line.strip())
            if not m:
                return i
            current = m.group(1)
            params[current] = ""
        elif current is not None:
            params[current] = (params[current] + " " + line.strip()).strip()
        i += 1
    return i
