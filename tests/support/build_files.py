"""Just enough parsing of the Makefile and the Dockerfile to compare what they install and start."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

# pip options that change output or caching, not what gets installed.
_COSMETIC = {"--quiet", "-q", "--no-cache-dir", "--disable-pip-version-check"}
_MAKE_VAR = re.compile(r"\$\((\w+)\)")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """The instructions of a Dockerfile, in order (comments dropped, ``\\`` continuations joined)."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, arguments = pending.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerfile_env(instructions: list[Instruction]) -> dict[str, str]:
    """``ENV`` key=value pairs (later ones win), ``$VAR`` references left unexpanded."""
    env: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for token in shlex.split(instruction.arguments):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def exec_form(instruction: Instruction) -> list[str]:
    """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD as a list."""
    text = instruction.arguments
    if instruction.keyword == "HEALTHCHECK":
        text = text[text.index("CMD ") + 4 :]
    value = json.loads(text)
    if not (isinstance(value, list) and all(isinstance(part, str) for part in value)):
        raise ValueError(f"{instruction.keyword} is not in exec form: {instruction.arguments}")
    return value


def normalize_pip_install(words: list[str]) -> tuple[str, ...]:
    """``pip install`` arguments without cosmetic options, e.g. ``('--no-deps', '-r', 'x.txt')``."""
    return tuple(word for word in words if word not in _COSMETIC)


def _pip_installs_in(command: str, pip_prefixes: tuple[str, ...]) -> list[tuple[str, ...]]:
    installs = []
    for part in re.split(r"&&|;", command):
        words = shlex.split(part)
        for prefix in pip_prefixes:
            head = prefix.split()
            if words[: len(head)] == head and words[len(head) : len(head) + 1] == ["install"]:
                installs.append(normalize_pip_install(words[len(head) + 1 :]))
    return installs


def dockerfile_pip_installs(instructions: list[Instruction]) -> list[tuple[str, ...]]:
    """Every ``pip install`` in RUN instructions, in order."""
    installs: list[tuple[str, ...]] = []
    for instruction in instructions:
        if instruction.keyword == "RUN":
            installs += _pip_installs_in(instruction.arguments, ("pip", "python -m pip"))
    return installs


@dataclass(frozen=True)
class Makefile:
    """Variables and rules of a simple Makefile (no pattern rules, no conditionals)."""

    variables: dict[str, str]
    rules: dict[str, tuple[list[str], list[str]]]  # target -> (prerequisites, recipe lines)

    @classmethod
    def parse(cls, path: Path) -> Makefile:
        """Read ``path``: ``NAME ?= / := / = value`` variables and ``target: deps`` rules."""
        variables: dict[str, str] = {}
        rules: dict[str, tuple[list[str], list[str]]] = {}
        current: list[str] | None = None
        for line in path.read_text().splitlines():
            if line.startswith("\t") and current is not None:
                current.append(line.strip())
                continue
            stripped = line.split("#", 1)[0].strip() if not line.startswith("\t") else ""
            assignment = re.match(r"^(?:export\s+)?(\w+)\s*(\?=|:=|=)\s*(.*)$", stripped)
            if assignment:
                variables[assignment.group(1)] = assignment.group(3).strip()
                current = None
            elif ":" in stripped and not stripped.startswith("."):
                target, _, prerequisites = stripped.partition(":")
                current = []
                rules[target.strip()] = (prerequisites.split(), current)
            else:
                current = None
        return cls(variables, rules)

    def expand(self, text: str) -> str:
        """Substitute ``$(NAME)`` recursively with the file's own variables."""
        for _ in range(10):
            expanded = _MAKE_VAR.sub(lambda m: self.variables.get(m.group(1), m.group(0)), text)
            if expanded == text:
                return text
            text = expanded
        return text

    def recipe(self, target: str) -> list[str]:
        """The recipe lines of ``target`` (a literal target name or a ``$(VAR)`` one), expanded."""
        for name, (_, lines) in self.rules.items():
            if name == target or self.expand(name) == self.expand(target):
                return [self.expand(line) for line in lines]
        raise KeyError(target)

    def prerequisites(self, target: str) -> list[str]:
        """The prerequisites of ``target``, unexpanded."""
        return self.rules[target][0]

    def pip_installs(self, target: str) -> list[tuple[str, ...]]:
        """Every ``pip install`` in ``target``'s recipe, normalized."""
        pip = self.expand("$(PIP)") if "PIP" in self.variables else "pip"
        installs: list[tuple[str, ...]] = []
        for line in self.recipe(target):
            installs += _pip_installs_in(line, (pip,))
        return installs
