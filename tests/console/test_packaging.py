"""The console is local tooling: no function package may include localcloud/."""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

from tests.support import load_template_fragment

CONSOLE_FILES = ("localcloud/console/app.py", "localcloud/console/templates/base.html")


def _patterns(package: dict[str, Any] | None) -> list[str]:
    return [str(p) for p in (package or {}).get("patterns", [])]


def _function_patterns() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in ("serverless.yml", "functions/events.yml", "functions/processing.yml"):
        functions = load_template_fragment(path)
        if path == "serverless.yml":
            functions = functions["functions"]
        entries = functions if isinstance(functions, list) else [functions]
        for entry in entries:
            if not isinstance(entry, dict):
                continue  # the ${file(...)} lines that pull in the other files
            for name, function in entry.items():
                found[name] = _patterns(function.get("package"))
    return found


def test_no_package_pattern_takes_in_the_console() -> None:
    service = _patterns(load_template_fragment("serverless.yml")["package"])
    assert service[0] == "!**"  # everything excluded first, then listed modules taken in
    functions = _function_patterns()
    assert len(functions) >= 10
    for name, patterns in {"(service)": service, **functions}.items():
        included = [p for p in patterns if not p.startswith("!")]
        for path in CONSOLE_FILES:
            assert not any(fnmatch(path, p) for p in included), (name, path, included)
