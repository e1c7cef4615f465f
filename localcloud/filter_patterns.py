"""CloudWatch Logs filter patterns, as subscription filters apply them to each log event.

Emulated: the empty pattern (every event); term patterns (`ERROR`, `"exact phrase"`, several
terms all present, `?a ?b` any of them, `-term` absent; case-sensitive, as CloudWatch
matches); JSON patterns `{ $.key op value }` with `=`, `!=`, `<`, `<=`, `>`, `>=` on strings
(a `*` wildcard) or numbers, `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`, comparisons
joined by `&&` or `||` (each optionally in parentheses; && binds first). Space-delimited
(`[a, b]`) patterns and nested groups are not: `compile_pattern` refuses them, rather than
deliver what CloudWatch would not.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Callable
from typing import Any

Matcher = Callable[[str], bool]

_COMPARISON = re.compile(
    r"""^\(?\s*\$((?:\.[A-Za-z0-9_@-]+|\[\d+\])+)\s*
    (?:(?P<op>=|!=|<=|>=|<|>)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s()]+)
      |(?P<is>IS\s+(?:TRUE|FALSE|NULL)|NOT\s+EXISTS))\s*\)?$""",
    re.VERBOSE,
)
_MISSING = object()


class FilterPatternError(ValueError):
    """A pattern CloudWatch would refuse, or one the local stack does not emulate."""


def compile_pattern(pattern: str) -> Matcher:
    text = pattern.strip()
    if not text:
        return lambda _message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError(f"Invalid filter pattern: {pattern!r}")
        return _json_pattern(text[1:-1].strip(), pattern)
    if text.startswith("["):
        raise FilterPatternError(
            f"localcloud does not emulate space-delimited filter patterns: {pattern!r}"
        )
    return _term_pattern(text, pattern)


def _term_pattern(text: str, pattern: str) -> Matcher:
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise FilterPatternError(f"Invalid filter pattern: {pattern!r}") from exc
    required = [t for t in terms if not t.startswith(("?", "-"))]
    anyof = [t[1:] for t in terms if t.startswith("?")]
    excluded = [t[1:] for t in terms if t.startswith("-")]
    if anyof and (required or excluded):
        raise FilterPatternError(f"localcloud does not emulate mixed ? terms: {pattern!r}")

    def matches(message: str) -> bool:
        if anyof:
            return any(term in message for term in anyof)
        return all(t in message for t in required) and not any(t in message for t in excluded)

    return matches


def _json_pattern(body: str, pattern: str) -> Matcher:
    alternatives = []
    for alternative in re.split(r"\s*\|\|\s*", body):
        conjuncts = [_comparison(c, pattern) for c in re.split(r"\s*&&\s*", alternative)]
        alternatives.append(conjuncts)

    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return any(all(test(document) for test in tests) for tests in alternatives)

    return matches


def _comparison(text: str, pattern: str) -> Callable[[Any], bool]:
    found = _COMPARISON.match(text.strip())
    if found is None:
        raise FilterPatternError(f"Invalid (or not emulated) filter pattern: {pattern!r}")
    path = re.findall(r"\.([A-Za-z0-9_@-]+)|\[(\d+)\]", found.group(1))
    check = found.group("is")
    op = found.group("op")
    raw = found.group("value")

    def select(document: Any) -> Any:
        current = document
        for key, index in path:
            if key and isinstance(current, dict) and key in current:
                current = current[key]
            elif index and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                return _MISSING
        return current

    if check is not None:
        word = " ".join(check.split())
        expected = {"IS TRUE": True, "IS FALSE": False, "IS NULL": None}

        def is_check(document: Any) -> bool:
            value = select(document)
            if word == "NOT EXISTS":
                return value is _MISSING
            return value is not _MISSING and value is expected[word]

        return is_check
    assert op is not None
    assert raw is not None
    if raw.startswith('"'):
        wanted = json.loads(raw)
        if op not in ("=", "!="):
            raise FilterPatternError(f"strings compare with = or != only: {pattern!r}")

        def string_check(document: Any) -> bool:
            value = select(document)
            if not isinstance(value, str):
                return op == "!=" and value is not _MISSING
            same = fnmatch.fnmatchcase(value, wanted) if "*" in wanted else value == wanted
            return same if op == "=" else not same

        return string_check
    try:
        number = float(raw)
    except ValueError:
        # An unquoted word compares as a string, as CloudWatch allows ({ $.level = ERROR }).
        return _comparison(f'$.{".".join(k or i for k, i in path)} {op} "{raw}"', pattern)
    compare: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }

    def number_check(document: Any) -> bool:
        value = select(document)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return compare[op](float(value), number)

    return number_check
