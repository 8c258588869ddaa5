"""Python source for generated repos, laid out as ``ruff format`` lays it out (double quotes, 120 columns)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["WIDTH", "Call", "Code", "Kw", "Node", "Str", "assignment", "literal"]

WIDTH = 120


@dataclass(frozen=True)
class Code:
    """Source text used as is (a name, a number, ``timedelta(days=1)``)."""

    text: str

    def flat(self) -> str:
        return self.text

    def lines(self, indent: int, head: str, tail: str) -> list[str]:
        return [" " * indent + head + self.text + tail]


@dataclass(frozen=True)
class Str:
    """A string literal; one too long for its line becomes a parenthesized implicit concatenation."""

    value: str

    def flat(self) -> str:
        return _quote(self.value)

    def lines(self, indent: int, head: str, tail: str) -> list[str]:
        one = " " * indent + head + self.flat() + tail
        if len(one) <= WIDTH or not head:
            return [one]
        room = WIDTH - indent - 4 - 2
        chunks, rest = [], self.value
        while rest:
            cut = _cut(rest, room)
            chunks.append(rest[:cut])
            rest = rest[cut:]
        pad = " " * (indent + 4)
        return [" " * indent + head + "(", *[pad + _quote(c) for c in chunks], " " * indent + ")" + tail]


@dataclass(frozen=True)
class Kw:
    """``name=value`` inside a call."""

    name: str
    value: Node

    def flat(self) -> str:
        return f"{self.name}={self.value.flat()}"

    def lines(self, indent: int, head: str, tail: str) -> list[str]:
        return self.value.lines(indent, f"{head}{self.name}=", tail)


@dataclass(frozen=True)
class Call:
    """``func(args)``; also a list (``func=""``, brackets ``[]``) or a dict (``{}``, items as ``Kw`` with quotes)."""

    func: str
    args: tuple[Node, ...]
    brackets: str = "()"

    def flat(self) -> str:
        return f"{self.func}{self.brackets[0]}{', '.join(a.flat() for a in self.args)}{self.brackets[1]}"

    def lines(self, indent: int, head: str, tail: str) -> list[str]:
        one = " " * indent + head + self.flat() + tail
        if len(one) <= WIDTH or not self.args:
            return [one]
        out = [" " * indent + head + self.func + self.brackets[0]]
        for a in self.args:
            out += a.lines(indent + 4, "", ",")
        return [*out, " " * indent + self.brackets[1] + tail]


@dataclass(frozen=True)
class _Pair:
    key: str
    value: Node

    def flat(self) -> str:
        return f"{_quote(self.key)}: {self.value.flat()}"

    def lines(self, indent: int, head: str, tail: str) -> list[str]:
        return self.value.lines(indent, f"{head}{_quote(self.key)}: ", tail)


Node = Code | Str | Kw | Call | _Pair


def literal(value: Any) -> Node:
    """A node for a str, bool, int, float, list or dict (of those), or a ``Node`` itself."""
    if isinstance(value, Code | Str | Kw | Call | _Pair):
        return value
    if isinstance(value, str):
        return Str(value)
    if isinstance(value, bool | int | float) or value is None:
        return Code(repr(value))
    if isinstance(value, list | tuple):
        return Call("", tuple(literal(v) for v in value), "[]")
    if isinstance(value, dict):
        return Call("", tuple(_Pair(str(k), literal(v)) for k, v in value.items()), "{}")
    raise TypeError(f"no literal for {type(value).__name__}")


def assignment(name: str, value: Node) -> list[str]:
    """``name = value`` as formatted lines."""
    return value.lines(0, f"{name} = ", "")


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid double-quoted Python literal


def _cut(s: str, room: int) -> int:
    """Where to end the next chunk of ``s`` (after a space if one is near), so its literal fits in ``room``."""
    n = 0
    width = 0
    while n < len(s) and width + len(_quote(s[n])) - 2 <= room:
        width += len(_quote(s[n])) - 2
        n += 1
    space = s.rfind(" ", 0, n)
    return space + 1 if n < len(s) and space > n // 2 else max(n, 1)
