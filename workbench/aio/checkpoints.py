"""Checkpoints on the async surface: ``workbench.checkpoints``, with async clients unwrapped.

Runner checkpoints are the same dicts on both surfaces (an aio Agent's ``type`` is
``"Agent"``), so a state saved by one restores into the other. An async client is saved
as the sync client that owns its state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.checkpoints import auto_checkpoint, checkpoint_on_failure, load_checkpoint  # noqa: F401 (re-exported)
from workbench.checkpoints import save_checkpoint as _save


def save_checkpoint(runner_or_client: Any, path: str | os.PathLike) -> Path:
    """Write the live state of a runner or a (sync or async) client to ``path`` atomically."""
    from workbench.aio.model_client import AsyncModelClient

    if isinstance(runner_or_client, AsyncModelClient):
        runner_or_client = runner_or_client.sync_client
    return _save(runner_or_client, path)
