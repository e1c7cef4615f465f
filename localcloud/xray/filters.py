"""X-Ray filter expressions (GetTraceSummaries' FilterExpression), the part the local store reads.

Supported, with X-Ray's meaning:

- ``annotation.KEY OP VALUE``: OP is ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (numbers) or
  ``CONTAINS``, ``BEGINSWITH``, ``ENDSWITH`` (strings); VALUE a double-quoted string, a number,
  ``true`` or ``false``; a bare ``annotation.KEY`` is true when the annotation is there. A trace
  matches when any segment or subsegment carries a matching value;
- ``service("NAME")`` (a segment of that name), ``service()`` (any);
- ``error``, ``fault``, ``throttle``, ``ok`` (no error, fault or throttle);
- ``duration OP N`` and ``responsetime OP N`` in seconds;
- ``AND`` / ``&&``, ``OR`` / ``||``, ``NOT`` / ``!``, parentheses.

Anything else (``edge()``, ``http.*``, ``user``, groups) is refused with ``InvalidRequestException``
rather than ignored, so a query that would mean something on AWS never silently matches all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

Scalar = str | float | bool


@dataclass
class TraceFacts:
    """What a filter expression can ask of one trace."""

    annotations: dict[str, list[Scalar]] = field(default_factory=dict)
    services: set[str] = field(default_factory=set)
    error: bool = False
    fault: bool = False
    throttle: bool = False
    duration: float = 0.0
    response_time: float = 0.0


Predicate = Callable[[TraceFacts], bool]


class FilterExpressionError(ValueError):
    """The expression is not one the local store can evaluate (X-Ray: InvalidRequestException)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|=|<|>|&&|\|\||!|\(|\)|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.:\-]*)
    )""",
    re.VERBOSE,
)
_COMPARE = {"=", "!=", "<", "<=", ">", ">="}
_STRING_OPS = {"contains", "beginswith", "endswith"}


def parse(expression: str) -> Predicate:
    tokens = _tokenize(expression)
    parser = _Parser(tokens, expression)
    predicate = parser.disjunction()
    if parser.peek() is not None:
        raise FilterExpressionError(
            f"Invalid filter expression {expression!r}: unexpected {parser.peek()!r}"
        )
    return predicate


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterExpressionError(
                f"Invalid filter expression {expression!r}: cannot read {text[position:]!r}"
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise FilterExpressionError("Invalid filter expression: it is empty")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], expression: str) -> None:
        self.tokens = tokens
        self.at = 0
        self.expression = expression

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            self.fail("it ends too early")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, why: str) -> None:
        raise FilterExpressionError(f"Invalid filter expression {self.expression!r}: {why}")

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.lower() in words:
            self.at += 1
            return True
        return False

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("or", "||"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda t: any(p(t) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.keyword("and", "&&"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else lambda t: all(p(t) for p in parts)

    def negation(self) -> Predicate:
        if self.keyword("not", "!"):
            inner = self.negation()
            return lambda t: not inner(t)
        return self.primary()

    def primary(self) -> Predicate:
        if self.keyword("("):
            inner = self.disjunction()
            if not self.keyword(")"):
                self.fail("a parenthesis is not closed")
            return inner
        kind, word = self.take()
        if kind != "word":
            self.fail(f"expected a keyword, found {word!r}")
        lowered = word.lower()
        if lowered.startswith("annotation."):
            return self.annotation(word[len("annotation.") :])
        if lowered == "service":
            return self.service()
        if lowered in ("error", "fault", "throttle"):
            return lambda t: bool(getattr(t, lowered))
        if lowered == "ok":
            return lambda t: not (t.error or t.fault or t.throttle)
        if lowered in ("duration", "responsetime"):
            op = self.operator(numeric=True)
            number = self.number()
            attribute = "duration" if lowered == "duration" else "response_time"
            return lambda t: _compare(float(getattr(t, attribute)), op, number)
        self.fail(f"{word!r} is not supported by the local X-Ray")
        raise AssertionError  # unreachable: fail raises

    def annotation(self, key: str) -> Predicate:
        if not key:
            self.fail("annotation needs a key")
        following = self.peek()
        if following is None or following.lower() in ("and", "or", "&&", "||", ")"):
            return lambda t: bool(t.annotations.get(key))
        op = self.operator(numeric=False)
        value = self.literal()
        return lambda t: any(_compare(v, op, value) for v in t.annotations.get(key, []))

    def service(self) -> Predicate:
        if not self.keyword("("):
            self.fail("service needs parentheses")
        if self.keyword(")"):
            return lambda t: bool(t.services)
        kind, name = self.take()
        if kind != "string":
            self.fail("service takes a double-quoted name")
        if not self.keyword(")"):
            self.fail("service takes one name")
        wanted = _unquote(name)
        return lambda t: wanted in t.services

    def operator(self, numeric: bool) -> str:
        _, op = self.take()
        lowered = op.lower()
        if lowered in _COMPARE or (not numeric and lowered in _STRING_OPS):
            return lowered
        self.fail(f"expected a comparison, found {op!r}")
        raise AssertionError

    def number(self) -> float:
        kind, text = self.take()
        if kind != "number":
            self.fail(f"expected a number, found {text!r}")
        return float(text)

    def literal(self) -> Scalar:
        kind, text = self.take()
        if kind == "string":
            return _unquote(text)
        if kind == "number":
            return float(text)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        self.fail(f"expected a value, found {text!r}")
        raise AssertionError


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _compare(actual: Scalar, op: str, expected: Scalar) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        if not (isinstance(expected, bool) and isinstance(actual, bool)):
            return False
        return (actual == expected) if op == "=" else (actual != expected) if op == "!=" else False
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        checks = {
            "=": actual == expected,
            "!=": actual != expected,
            "contains": expected in actual,
            "beginswith": actual.startswith(expected),
            "endswith": actual.endswith(expected),
        }
        return checks.get(op, False)
    if isinstance(actual, str):
        return False
    checks_number = {
        "=": actual == expected,
        "!=": actual != expected,
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
    }
    return checks_number.get(op, False)
