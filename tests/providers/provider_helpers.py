"""Shared by the provider tests (imported by name: pytest puts this folder on sys.path)."""

from workbench.models.retry import RetryPolicy

# Retries as the default policy does them, only fast enough for a test suite.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.2, max_total_wait=1.0)
