"""The plugins' JavaScript run in node on synthetic input, for the tests of what they generate."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def node(script: str, *values: Any) -> Any:
    """What `script` prints as JSON, run from the repository root with each of `values` as a
    JSON argument (`process.argv.slice(1)`)."""
    result = subprocess.run(  # noqa: S603 - node from the toolchain, fixed script
        ["node", "-e", script, *(json.dumps(v) for v in values)],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def edit_resources(module: str, call: str, resources: dict[str, Any], options: Any) -> Any:
    """`require(module)[call](resources, options)`, for a step that changes the template's
    resources in place: {"returned": what it returned, "resources": the resources after}."""
    script = (
        f"const step = require('{module}');"
        "const [resources, options] = process.argv.slice(1).map((a) => JSON.parse(a));"
        f"const returned = step.{call}(resources, options);"
        "console.log(JSON.stringify({returned, resources}));"
    )
    return node(script, resources, options)


def monitoring_resources(resources: dict[str, Any], config: dict[str, Any], stage: str) -> Any:
    """What the stage-controls plugin generates for `resources` from `config`'s monitoring."""
    script = (
        "const {monitoringResources} = require('./plugins/stage-controls/lib/monitoring');"
        "const [resources, config, stage] = process.argv.slice(1).map((a) => JSON.parse(a));"
        "console.log(JSON.stringify(monitoringResources({resources, service: 'docflow', stage,"
        " monitoring: config.monitoring})));"
    )
    return node(script, resources, config, stage)


def validate_stage_config(config: dict[str, Any], function_names: list[str] | None = None) -> Any:
    """The plugin's (ajv) problems with a prod stage `config` whose functions are
    `function_names` (by default, those with a reserved concurrency)."""
    script = (
        "const {loadSchema, validateStageConfig} = require('./plugins/stage-controls/lib/config');"
        "const [config, names] = process.argv.slice(1).map((a) => JSON.parse(a));"
        "const functionNames = names || Object.keys(config.reservedConcurrency);"
        "console.log(JSON.stringify(validateStageConfig({schema: loadSchema('.'), config,"
        " stage: 'prod', functionNames})));"
    )
    return node(script, config, function_names)
