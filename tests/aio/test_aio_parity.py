"""Every sync name has an aio twin; importing workbench.aio stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import workbench as wb
import workbench.agents as agents
from workbench import aio
from workbench.agents.runner import Runner

SYNC_TOP = {"chat": "chat", "client": "client", "ModelClient": "AsyncModelClient",
            "BaseModelClient": "AsyncBaseModelClient", "MCPClient": "MCPClient",
            "save_checkpoint": "save_checkpoint", "load_checkpoint": "load_checkpoint",
            "auto_checkpoint": "auto_checkpoint"}


def sync_runner_classes():
    out = {}
    for name in agents.__all__:
        value = getattr(agents, name)
        if inspect.isclass(value) and issubclass(value, Runner) and value is not Runner:
            out[name] = value
    return out


def test_every_sync_runner_class_has_an_aio_twin():
    classes = sync_runner_classes()
    assert {"Agent", "SkillAgent", "OrchestratorAgent", "Chain", "Router", "Parallel",
            "EvaluatorOptimizer", "PlanExecuteEvaluator"} <= set(classes)
    for name, sync_class in classes.items():
        twin = getattr(aio, name)
        assert issubclass(twin, sync_class), name            # same logic, inherited
        assert issubclass(twin, aio.AsyncRunner), name
        assert inspect.iscoroutinefunction(twin.run), name
        assert twin._logic is sync_class._logic, name       # not re-implemented
        missing = {m for m in dir(sync_class) if not m.startswith("_") and not hasattr(twin, m)}
        assert not missing, (name, missing)
    assert issubclass(aio.AsyncRunner, Runner)


def test_top_level_names_have_twins():
    for sync_name, aio_name in SYNC_TOP.items():
        assert hasattr(wb, sync_name), sync_name
        assert aio_name in aio.__all__ and getattr(aio, aio_name) is not None, aio_name
    assert inspect.iscoroutinefunction(aio.chat)
    for method in ("chat", "generate"):
        assert inspect.iscoroutinefunction(getattr(aio.AsyncBaseModelClient, method))


def test_client_surface_matches_the_sync_client():
    sync = wb.client("openai:gpt-4.1", api_key="k", base_url="http://127.0.0.1:9/v1")
    client = aio.client(sync)
    public = {m for m in dir(sync) if not m.startswith("_")}
    assert public - {m for m in public if hasattr(client, m)} == set()
    assert client.model_string == sync.model_string and client.provider == "openai"


def test_mcp_client_methods_mirror_the_sync_ones():
    from workbench.tools.mcp import MCPClient as SyncMCP

    for method in ("get_tools", "call_tool", "ping"):
        assert hasattr(SyncMCP, method) and inspect.iscoroutinefunction(getattr(aio.MCPClient, method))
    assert hasattr(SyncMCP, "close") and inspect.iscoroutinefunction(aio.MCPClient.aclose)
    assert inspect.iscoroutinefunction(aio.MCPClient.connect)


def test_import_workbench_aio_is_light():
    heavy = ("openai", "anthropic", "ollama", "torch", "transformers", "llama_cpp", "fastmcp",
             "IPython", "ipywidgets", "anywidget", "pandas")
    code = ("import sys, workbench.aio as a; a.client; a.chat; a.AsyncModelClient; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_aio_adds_drivers_only():
    """No request building, stream parsing, tool-loop or workflow decisions inside workbench/aio."""
    import ast
    from pathlib import Path

    folder = Path(aio.__file__).parent
    forbidden_calls = {"build_request", "parse_stream", "parse_response", "map_error", "ToolLoop", "tool_message",
                       "ThinkSplitter", "match_route", "routing_prompt", "plan_prompt", "execute_prompt"}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("workbench.models.wire"), path.name
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                assert name not in forbidden_calls, (path.name, name)
    # the agent and workflow twins define no behaviour of their own: docstrings only
    for module in ("agents.py", "workflows.py"):
        tree = ast.parse((folder / module).read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("Async")):
            body = [n for n in cls.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
            assert body == [], (module, cls.name)
