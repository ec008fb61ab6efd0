"""Without the deepeval extra, the adapters name the install; tests/deepeval covers them."""

import importlib.util

import pytest

from workbench.errors import MissingDependencyError


@pytest.mark.skipif(importlib.util.find_spec("deepeval") is not None, reason="deepeval is installed here")
def test_the_adapters_name_the_extra_when_deepeval_is_missing():
    import workbench.evals as evals

    with pytest.raises(MissingDependencyError, match=r"pip install 'aimu-workbench\[deepeval\]'"):
        evals.DeepEvalScorer
    with pytest.raises(ImportError):       # an ImportError too, for code that guards imports
        from workbench.evals import DeepEvalModel  # noqa: F401
