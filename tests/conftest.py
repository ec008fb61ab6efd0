"""Fixtures shared by every test folder."""

import pytest


@pytest.fixture(scope="session")
def tiny_model():
    """The built-in model, built offline on first use (seconds; cached in the user cache folder)."""
    from workbench.models.local.tiny import ensure_tiny

    return ensure_tiny()
