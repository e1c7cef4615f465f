"""localcloud.changes: which deploy `make up` needs, and packages built as `sls package` would.

The e2e side (tests/e2e/test_lifecycle.py) checks the same against osls' own packages: after a
full deploy nothing is found changed, and a package built here is byte-identical to osls'.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml

from localcloud import changes
from tests.localcloud.conftest import ROOT
from tests.support import package_sources

SERVICE_PATTERNS = ("!**", "shared/**", "!**/__pycache__/**", "!**/*.pyc")
API_PATTERNS = (*SERVICE_PATTERNS, "handlers/__init__.py", "handlers/api.py", "docflow/api/**")
INFO = {"endpoint_url": "http://127.0.0.1:4566", "pid": 4242}


def test_the_service_patterns_are_serverless_ymls() -> None:
    class Tolerant(yaml.SafeLoader):
        pass

    Tolerant.add_multi_constructor("!", lambda loader, suffix, node: None)
    definition = yaml.load((ROOT / "serverless.yml").read_text(), Loader=Tolerant)  # noqa: S506 - SafeLoader subclass
    assert tuple(definition["package"]["patterns"]) == SERVICE_PATTERNS


@pytest.mark.parametrize(
    ("path", "packaged"),
    [
        ("shared/errors.py", True),
        ("shared/events/http.py", True),
        ("shared/__pycache__/errors.cpython-312.pyc", False),
        ("shared/events/http.pyc", False),
        ("handlers/api.py", True),
        ("handlers/intake.py", False),
        ("docflow/api/service.py", True),
        ("docflow/apix/service.py", False),
        ("docflow/intake/scan.py", False),
        ("localcloud/stack.py", False),
        ("README.md", False),
    ],
)
def test_the_last_matching_pattern_decides(path: str, packaged: bool) -> None:
    assert changes.included(path, API_PATTERNS) is packaged


def _tree(tmp_path: Path) -> Path:
    """A working tree with what a function package and the template need."""
    root = package_sources(tmp_path / "tree")
    (root / "serverless.yml").write_text("service: docflow\n")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return _tree(tmp_path)


def _record(root: Path) -> changes.Record:
    """What a deploy of `root` would have recorded (the api function only)."""
    package = changes.Package("docflow-local-api", API_PATTERNS, (), "", "")
    _, built = changes.build(root, package)
    return changes.Record(
        endpoint_url=INFO["endpoint_url"],
        server_pid=INFO["pid"],
        stack_id="arn:stack/docflow-local/1",
        template=changes.template_digest(root),
        packages={"api": built},
    )


def _plan(root: Path, record: changes.Record | None, **overrides: object) -> changes.Plan:
    arguments: dict[str, object] = {
        "info": INFO,
        "stack_id": "arn:stack/docflow-local/1",
        "template": changes.template_digest(root),
        "code_sha256": {
            p.function_name: p.code_sha256 for p in (record.packages if record else {}).values()
        },
    }
    arguments.update(overrides)
    return changes.plan(root, record, **arguments)  # type: ignore[arg-type]


def test_an_unchanged_tree_needs_no_deploy(tree: Path) -> None:
    assert _plan(tree, _record(tree)) == changes.Plan(
        "none", "nothing changed since the last deploy"
    )


def test_a_one_line_change_to_the_handler_updates_that_functions_code(tree: Path) -> None:
    record = _record(tree)
    handler = tree / "handlers" / "api.py"
    handler.write_text(handler.read_text() + "LIMIT = 2\n")

    assert _plan(tree, record) == changes.Plan("code", "code changed in api", ("api",))


def test_code_replaced_by_hand_is_deployed_again(tree: Path) -> None:
    record = _record(tree)
    assert _plan(tree, record, code_sha256={"docflow-local-api": "other"}).kind == "code"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"info": {**INFO, "pid": 1}}, "the embedded AWS was restarted"),
        ({"stack_id": None}, "the stack is not deployed (sls remove?)"),
        ({"stack_id": "arn:stack/docflow-local/2"}, "the stack was deployed again outside"),
        ({"template": "another"}, "an input of the template changed"),
        ({"code_sha256": {}}, "the function docflow-local-api is not deployed"),
    ],
)
def test_what_the_template_or_the_server_lost_needs_a_full_deploy(
    tree: Path, change: dict[str, object], reason: str
) -> None:
    planned = _plan(tree, _record(tree), **change)
    assert (planned.kind, planned.reason.startswith(reason)) == ("full", True), planned


def test_no_record_needs_a_full_deploy(tree: Path) -> None:
    assert _plan(tree, None).kind == "full"


def test_a_module_added_to_a_package_needs_a_full_deploy(tree: Path) -> None:
    record = _record(tree)
    (tree / "docflow" / "api" / "extra.py").write_text("X = 1\n")

    assert _plan(tree, record) == changes.Plan(
        "full", "api's package gains or loses files (+docflow/api/extra.py)"
    )


def test_the_template_digest_follows_its_inputs_only(tree: Path) -> None:
    before = changes.template_digest(tree)
    (tree / "handlers" / "api.py").write_text("# code is not a template input\n")
    assert changes.template_digest(tree) == before
    (tree / "serverless.yml").write_text("service: docflow2\n")
    assert changes.template_digest(tree) != before


def test_a_built_package_is_reproducible_and_holds_bytecode(tree: Path, tmp_path: Path) -> None:
    package = _record(tree).packages["api"]
    first, built = changes.build(tree, package)
    # Another checkout of the same files, elsewhere: the same bytes.
    again, _ = changes.build(_tree(tmp_path / "elsewhere"), package)

    assert first == again
    assert built == package
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        names = archive.namelist()
    assert "handlers/__pycache__/api.cpython-312.pyc" in names
    assert "handlers/intake.py" not in names


def test_the_record_survives_a_round_trip(tree: Path, tmp_path: Path) -> None:
    record = _record(tree)
    record.save(tmp_path)
    assert changes.Record.load(tmp_path) == record
    changes.forget(tmp_path)
    assert changes.Record.load(tmp_path) is None
