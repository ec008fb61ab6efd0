"""Prompt templates that leave every brace alone except their own fields.

    t = PromptTemplate("Classify: {content}\\nReply as JSON like {\\"label\\": ...}")
    t.variables                    # ('content',)
    t.render(content="I loved it")  # the JSON example stays as written

``str.format`` raises on a literal ``{"name": ...}`` and needs ``{{`` everywhere; here a
field is a single-brace plain identifier (``{content}``), and every other brace, a
doubled ``{{x}}``, ``{x.y}`` or JSON, passes through untouched. Declare ``variables=`` to
fill only those names. ``check(columns)`` fails *before* a run sends anything when a
field has no column to fill it, and lists the columns there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from workbench.errors import DataError

FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def fill(text: str, values: Mapping[str, Any], only: Iterable[str] | None = None) -> str:
    """Replace ``{name}`` for names in ``values`` (and in ``only``, when given); leave every
    other brace alone. The one substitution rule of templates and ``%%aimu --vars``."""
    allowed = set(only) if only is not None else None

    def sub(match: re.Match) -> str:
        name = match.group(1)
        if name in values and (allowed is None or name in allowed):
            return str(values[name])
        return match.group(0)

    return FIELD.sub(sub, text)


@dataclass(frozen=True)
class PromptTemplate:
    text: str
    declared: tuple[str, ...] | None = None

    def __init__(self, text: str, variables: Iterable[str] | None = None):
        if not isinstance(text, str):
            raise DataError(f"A prompt template is a str, got {type(text).__name__}.")
        object.__setattr__(self, "text", text)
        if isinstance(variables, str):     # variables="content" means one field, not seven letters
            variables = (variables,)
        object.__setattr__(self, "declared", tuple(variables) if variables is not None else None)

    @property
    def variables(self) -> tuple[str, ...]:
        """The fields this template fills, in order of first appearance."""
        if self.declared is not None:
            return self.declared
        return tuple(dict.fromkeys(FIELD.findall(self.text)))

    def check(self, columns: Iterable[str]) -> None:
        """Raise DataError naming the missing fields and the available columns."""
        have = list(columns)
        missing = [v for v in self.variables if v not in have]
        if missing:
            raise DataError(f"The prompt uses {', '.join('{' + m + '}' for m in missing)} but the data has no "
                            f"such column. Columns: {', '.join(have) or '(none)'}. Rename a column, or "
                            "change the template (other braces are left as written).")

    def render(self, values: Mapping[str, Any] | None = None, **more: Any) -> str:
        merged = {**(values or {}), **more}
        self.check(merged)
        return fill(self.text, merged, self.variables)

    def __str__(self) -> str:
        return self.text


def as_template(prompt: "str | PromptTemplate") -> PromptTemplate:
    return prompt if isinstance(prompt, PromptTemplate) else PromptTemplate(prompt)
