"""The GitHub workflows pass actionlint and zizmor, and both fail on a seeded mistake."""

from __future__ import annotations

import re
from pathlib import Path

from gates import tools

_SHA_PIN = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d")


def test_actionlint_passes_the_workflows() -> None:
    ok, output = tools.actionlint()
    assert ok, output
    assert "0 finding(s)" in output


def test_zizmor_finds_nothing_of_medium_severity_or_above() -> None:
    ok, output = tools.zizmor()
    assert ok, output


def test_every_remote_action_is_pinned_by_commit_sha() -> None:
    github = tools.ROOT / ".github"
    uses = [
        line.strip().removeprefix("- ")
        for path in [*github.rglob("*.yml")]
        for line in path.read_text().splitlines()
        if "uses:" in line and "uses: ./" not in line
    ]
    assert uses
    assert [u for u in uses if not _SHA_PIN.match(u)] == []


_BAD_WORKFLOW = """\
name: bad
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ github.event.no_such_thing.at.all }} && exit 1
        shell: no-such-shell
"""


def test_actionlint_fails_a_seeded_mistake(tmp_path: Path) -> None:
    workflow = tmp_path / "bad.yml"
    workflow.write_text(_BAD_WORKFLOW)

    ok, output = tools.actionlint([workflow])

    assert not ok
    assert "no-such-shell" in output or "shell" in output


def test_zizmor_fails_a_seeded_injection(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(_BAD_WORKFLOW)

    ok, output = tools.zizmor([workflows / "bad.yml"])

    assert not ok
    assert "template-injection" in output
