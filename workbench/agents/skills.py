"""SkillAgent: skills found on disk, described up front, loaded on demand.

A skill is a folder holding ``SKILL.md``::

    ---
    name: pdf-report
    description: Turn tabular results into a short PDF report.
    ---
    Full instructions the model reads only when it activates the skill...

The agent appends a catalog (name and description of each skill) to its system message
and gives the model an ``activate_skill(name)`` tool that returns the full instructions
and lists the folder's other files. Instructions cost context only when used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.agents.agent import Agent
from workbench.errors import ConfigurationError

SKILL_FILE = "SKILL.md"


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    path: Path          # the folder

    @property
    def instructions(self) -> str:
        return parse_skill_file(self.path / SKILL_FILE)[1]

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*")
                      if p.is_file() and p.name != SKILL_FILE)


def parse_skill_file(path: Path) -> tuple[dict[str, str], str]:
    """(front matter as a flat dict, body) of a SKILL.md; front matter is optional."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text.strip()
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "\n".join(lines[i + 1:]).strip()
        key, sep, value = line.partition(":")
        if sep and key.strip() and not line.startswith((" ", "\t")):
            meta[key.strip().lower()] = value.strip().strip("'\"")
        elif meta and line.startswith((" ", "\t")):  # a folded continuation line
            last = list(meta)[-1]
            meta[last] = (meta[last] + " " + line.strip()).strip()
    raise ConfigurationError(f"{path}: the front matter opened with '---' is never closed; add a '---' line.")


def discover_skills(folders: list[str | Path]) -> dict[str, Skill]:
    """Skills in ``folders``: each folder that holds SKILL.md, or whose sub-folders do."""
    found: dict[str, Skill] = {}
    for folder in folders:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise ConfigurationError(f"Skill folder not found: {str(root)!r}.")
        candidates = [root] if (root / SKILL_FILE).is_file() else sorted(
            p for p in root.iterdir() if (p / SKILL_FILE).is_file())
        for skill_dir in candidates:
            meta, body = parse_skill_file(skill_dir / SKILL_FILE)
            name = meta.get("name") or skill_dir.name
            description = meta.get("description") or (body.splitlines()[0][:200] if body else "")
            if name in found:
                raise ConfigurationError(
                    f"Two skills are named {name!r} ({found[name].path} and {skill_dir}); rename one.")
            found[name] = Skill(name, description, skill_dir)
    return found


def skill_catalog(skills: dict[str, Skill]) -> str:
    lines = ["## Skills",
             "You can use these skills. Before following one, call activate_skill with its name to "
             "read its full instructions."]
    lines += [f"- {s.name}: {s.description}" for s in skills.values()]
    return "\n".join(lines)


@dataclass(eq=False)
class SkillAgent(Agent):
    skill_dirs: list[str | Path] = field(default_factory=list)
    skills: dict[str, Skill] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.name is None:
            self.name = "skill_agent"
        self.skills = discover_skills(self.skill_dirs)
        if self.skills:
            self.tools = [t for t in self.tools if getattr(t, "__name__", "") != "activate_skill"]
            self.tools.append(self._activate_tool())
        super().__post_init__()

    def effective_system_message(self) -> str | None:
        if not self.skills:
            return self.system_message
        base = self.system_message
        catalog = skill_catalog(self.skills)
        return f"{base}\n\n{catalog}" if base else catalog

    def _activate_tool(self):
        from workbench.tools.decorator import tool

        skills = self.skills

        def activate_skill(name: str) -> str:
            """Load the full instructions of a skill.

            Args:
                name: The skill's name, as listed in the system message.
            """
            skill = skills.get(name.strip())
            if skill is None:
                raise ValueError(f"No skill named {name!r}; available: {', '.join(skills)}.")
            files = skill.files()
            extra = ("\n\nFiles in this skill's folder: " + ", ".join(files)) if files else ""
            return f"# Skill: {skill.name}\n\n{skill.instructions}{extra}"

        return tool(activate_skill)

    def _position(self) -> dict[str, Any]:
        return {**super()._position(), "skills": sorted(self.skills)}
