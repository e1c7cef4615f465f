"""Fixtures for localcloud's own tests: Python 3.12 processes and a localcloud server subprocess.

The server runs in its own process: its patches change moto's classes, and must not leak into
the functional tests that use moto in process.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud import server
from tests.support import python312_or_skip
from tests.support import wait_for as wait_for  # the fixtures' modules import it from here

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture(scope="session")
def python312() -> str:
    return python312_or_skip()


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@dataclass
class Cloud:
    endpoint_url: str
    api_url: str
    state_dir: Path
    port: int

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="localcloud",
            aws_secret_access_key="localcloud",
        )

    def deploy(self, name: str, template: dict[str, Any]) -> dict[str, str]:
        """Create the stack through a change set, as osls does; returns its outputs."""
        cfn = self.client("cloudformation")
        body = json.dumps(template)
        exists = any(s["StackName"] == name for s in cfn.describe_stacks()["Stacks"])
        kind = "UPDATE" if exists else "CREATE"
        cfn.create_change_set(
            StackName=name,
            ChangeSetName=f"cs{time.time_ns()}",
            TemplateBody=body,
            ChangeSetType=kind,
        )
        change_set = cfn.list_change_sets(StackName=name)["Summaries"][-1]["ChangeSetName"]
        cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, python312: str) -> Iterator[Cloud]:
    state = tmp_path_factory.mktemp("localcloud")
    port, api_port = server.free_port(), server.free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "localcloud",
            "serve",
            "--port",
            str(port),
            "--api-port",
            str(api_port),
            "--state-dir",
            str(state),
        ],
        cwd=ROOT,
        stdout=(state / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = (state / "server.log").read_text()
                process.kill()
                pytest.fail(f"localcloud did not start:\n{output}")
            time.sleep(0.1)
    yield Cloud(endpoint, f"http://127.0.0.1:{api_port}", state, port)
    process.terminate()
    process.wait(timeout=20)
