"""SnapStart: what restored execution environments must not share.

With SnapStart (config `coldStart.<function>: {snapStart: true}`, docs/operations.md) Lambda
runs a published version's init once, snapshots its memory and resumes every new execution
environment from that snapshot, so whatever init left in memory is shared by all of them.
After each restore, the hook registered here drops what must be each environment's own:

- the AWS clients (`shared.aws`): their connection pools belong to the snapshot's network
  and their credentials to the environment that took it; they are created again on first use;
- the values of every `shared.secrets` cache (the api's key cache too): a value must not
  outlive its time to live by sitting in a snapshot, nor be read by environments restored
  long after a rotation;
- the `random` module's state, reseeded from the restored environment's entropy (`uuid`,
  `secrets` and the API keys use `os.urandom`, which is fresh per environment; `random`
  would repeat the snapshot's sequence in every environment).

docflow creates no client and reads no secret at import time, so these are empty in a
snapshot taken straight after init; the hook keeps that true whatever a later change caches.
The logging state needs nothing: the snapshot is taken before any invocation, so the first
invocation of each restored environment is logged as its cold start.

`register()` runs when the decorator is applied (init); it registers only where Lambda says
the environment is a SnapStart one (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), where the
Python runtime provides `snapshot_restore_py`. Elsewhere it costs one environment lookup.
"""

from __future__ import annotations

import os
from typing import Any

SNAP_START = "snap-start"
_registered = {"done": False}


def after_restore() -> None:
    """Drop the per-environment state a snapshot carried (see the module's docstring)."""
    import random

    from shared import aws, secrets

    aws.reset()
    secrets.forget()
    random.seed()


def register(runtime: Any = None) -> bool:
    """Register `after_restore` with the SnapStart runtime hooks, once per process; True when
    registered. `runtime` stands in for `snapshot_restore_py` in tests."""
    if _registered["done"] or os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAP_START:
        return _registered["done"]
    if runtime is None:
        import importlib

        # Provided by Lambda's Python runtime (not a requirement: nothing to bundle).
        runtime = importlib.import_module("snapshot_restore_py")
    runtime.register_after_restore(after_restore)
    _registered["done"] = True
    return True
