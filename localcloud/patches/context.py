"""What the patches share at run time: the runner, the endpoint and the asynchronous invoker."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from localcloud.runner import LambdaRunner


@dataclass
class LocalCloud:
    runner: LambdaRunner
    endpoint_url: str
    state_dir: Path | None = None
    # The loopback gateway serving the deployed HTTP APIs (localcloud.gateway).
    api_url: str | None = None
    # AWS retries a failed asynchronous invocation after about 1 and 2 minutes; locally the same
    # two retries happen after these many seconds, so a demo does not wait minutes.
    async_retry_delays: tuple[float, ...] = (1.0, 2.0)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=16, thread_name_prefix="lambda-async"
        )
    )

    current: ClassVar[LocalCloud | None] = None

    @classmethod
    def get(cls) -> LocalCloud:
        if cls.current is None:
            raise RuntimeError(
                "localcloud patches are not applied: call localcloud.patches.apply_all"
            )
        return cls.current
