"""Where an operator tool points: a stage's region, endpoint and resource names.

- `--stage local`: the running local stack, from `.local/stack.json` (endpoint, region; the
  emulator's admin credentials), so no export is needed.
- `--stage dev|prod`: the region the stage deploys to (`region` in config/<stage>.yml, the
  one serverless.yml uses), credentials from the usual AWS chain.
- no stage: `--region`, else the usual AWS configuration (AWS_REGION, the profile).

Every failure an operator can fix is an `OperatorError` whose message is one line saying
what to do; `run` prints it instead of a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from gates import config as stage_config

STACK_FILE = Path(".local/stack.json")
SERVICE = "docflow"


class OperatorError(Exception):
    """A condition the operator can fix; the message says how, in one line."""


@dataclass(frozen=True)
class Target:
    region: str
    stage: str | None = None
    endpoint_url: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # config/<stage>.yml
    credentials: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """For messages: `stage dev (eu-west-1)`."""
        return f"stage {self.stage} ({self.region})" if self.stage else self.region

    def client(self, service: str) -> Any:
        return boto3.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url, **self.credentials
        )


def settings(stage: str) -> dict[str, Any]:
    """config/<stage>.yml; an unknown stage is refused with the known ones."""
    try:
        return stage_config.load_stage(stage)
    except FileNotFoundError:
        known = sorted(p.stem for p in stage_config.CONFIG_DIR.glob("*.yml"))
        raise OperatorError(
            f"unknown stage {stage!r}: stages are {', '.join(known)} (config/<stage>.yml)"
        ) from None


def resolve(stage: str | None, region: str | None, stack_file: Path = STACK_FILE) -> Target:
    if stage == "local":
        return _local(stack_file, region)
    if stage is not None:
        values = settings(stage)
        return Target(region or str(values["region"]), stage, settings=values)
    found = region or boto3.session.Session().region_name
    if not found:
        raise OperatorError(
            "no AWS region: pass --stage (its config names the region) or --region, "
            "or set AWS_REGION"
        )
    return Target(found)


def _local(stack_file: Path, region: str | None) -> Target:
    try:
        stack = json.loads(stack_file.read_text())
    except FileNotFoundError:
        raise OperatorError(
            f"no {stack_file}: start the local stack with `make up` (or pass --stack FILE)"
        ) from None
    except json.JSONDecodeError:
        raise OperatorError(f"{stack_file} is not JSON: run `make up` again") from None
    return Target(
        region or str(stack["region"]),
        "local",
        endpoint_url=str(stack["endpoint_url"]),
        settings=settings("local"),
        # The emulator accepts any credentials; these are the ones `make up` deploys with.
        credentials={"aws_access_key_id": "localcloud", "aws_secret_access_key": "localcloud"},
    )


def stage_of_secret(secret: str) -> str | None:
    """The stage whose config names this API-key secret, if any."""
    for stage in stage_config.STAGES:
        if settings(stage).get("api", {}).get("keysSecretName") == secret:
            return stage
    return None


def run(prog: str, body: Callable[[], int]) -> int:
    """Run a tool's body; print an operator error, or the AWS failure, as one line."""
    try:
        return body()
    except OperatorError as exc:
        message = str(exc)
    except botocore.exceptions.NoRegionError:
        message = "no AWS region: pass --stage or --region, or set AWS_REGION"
    except botocore.exceptions.NoCredentialsError:
        message = "no AWS credentials: set AWS_PROFILE or sign in (aws sso login / aws configure)"
    except botocore.exceptions.EndpointConnectionError as exc:
        message = f"cannot reach {exc.kwargs.get('endpoint_url')}: is the stack running?"
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        message = f"AWS refused {exc.operation_name}: {error.get('Message') or error.get('Code')}"
    print(f"{prog}: {message}", file=sys.stderr)
    return 1
