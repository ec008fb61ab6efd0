"""The Ray executor on a real local cluster: the same rows as the in-process engine."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.evals import Benchmark
from workbench.prompts import ExactMatchScorer
from workbench.testing import FakeOpenAIServer, Reply

import ray  # noqa: E402  (the ray extra is in the locked dev set: missing it must fail, not skip)

DATA = [{"q": f"Say {i}", "expected": "ok" if i % 3 else "no"} for i in range(12)]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def keyed(rows):
    return {(r["model"], r["sample_id"]): (r["output"], r["score"], r["passed"], r["error"]) for r in rows}


@pytest.mark.slow
@pytest.mark.usefixtures("cluster")
def test_ray_rows_equal_the_in_process_rows(tmp_path):
    with FakeOpenAIServer(default=Reply(text="ok")) as server:
        client = wb.client(f"openai-compat:fake@{server.base_url}", system="You are terse.")
        bench = Benchmark("{q}", DATA, ExactMatchScorer())
        local = bench.run({"fake": client}, max_concurrency=4)
        remote = bench.run({"fake": client}, store=tmp_path / "runs.db", max_concurrency=4,
                           executor="ray", ray_actors=2)
        assert server.requests[-1].json["messages"][0] == {"role": "system", "content": "You are terse."}
    assert keyed(remote.rows) == keyed(local.rows) and len(remote.rows) == 12
    assert remote.info["config"]["executor"] == "ray"


@pytest.mark.slow
@pytest.mark.usefixtures("cluster", "tiny_model")
def test_ray_actors_load_workbench_tiny_once_each():
    from workbench.builtin.tiny_corpus import EXPECTED

    data = [{"q": EXPECTED[n].prompt, "expected": EXPECTED[n].answer} for n in ("math", "capital", "prime")] * 2
    results = Benchmark("{q}", data, ExactMatchScorer()).run({"tiny": "hf:workbench-tiny"}, executor="ray",
                                                            ray_actors=2, max_concurrency=2)
    assert results.metrics["tiny"]["mean_score"] == 1.0 and results.metrics["tiny"]["errors"] == 0


def test_a_client_that_cannot_be_rebuilt_is_refused():
    from workbench.errors import DataError
    from workbench.evals.ray_executor import client_spec

    class Custom:
        def generate(self, prompt, **_):
            return "x"

    with pytest.raises(DataError, match="cannot be rebuilt in a Ray actor"):
        client_spec(Custom())
    assert client_spec("hf:workbench-tiny")["model"] == "hf:workbench-tiny"
