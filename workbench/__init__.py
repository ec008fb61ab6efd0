"""aimu-workbench: one client for every model provider, agents and workflows, and a notebook layer.

    import workbench as wb
    wb.chat("Hi", model="anthropic:claude-sonnet-4-6")
    c = wb.client("hf:workbench-tiny", system="You are terse.")

Attributes are imported on first use (PEP 562), so ``import workbench`` loads no SDK,
no torch and no Jupyter package.
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

__version__ = "0.1.0"

# name -> "module:attribute"
_LAZY = {
    # top-level verbs
    "chat": "workbench.api:chat",
    "client": "workbench.api:client",
    "agent": "workbench.api:agent",
    "tool": "workbench.tools.decorator:tool",
    "clear_hf_cache": "workbench.models.local.weights:clear_hf_cache",
    "clear_llamacpp_cache": "workbench.models.local.weights:clear_llamacpp_cache",
    "cache_info": "workbench.models.local.weights:cache_info",
    "open_run": "workbench.evals.results:open_run",
    "save_checkpoint": "workbench.checkpoints:save_checkpoint",
    "load_checkpoint": "workbench.checkpoints:load_checkpoint",
    "auto_checkpoint": "workbench.checkpoints:auto_checkpoint",
    "show": "workbench.notebook.show:show",
    "show_cache": "workbench.notebook.show:show_cache",
    "ashow": "workbench.notebook.show:ashow",
    "load_ipython_extension": "workbench.notebook.extension:load_ipython_extension",
    "unload_ipython_extension": "workbench.notebook.extension:unload_ipython_extension",
    # types
    "StreamChunk": "workbench.models.chunks:StreamChunk",
    "Phase": "workbench.models.chunks:Phase",
    "ModelClient": "workbench.models.client:ModelClient",
    "BaseModelClient": "workbench.models.client:BaseModelClient",
    "ModelSpec": "workbench.models.spec:ModelSpec",
    "Model": "workbench.models.spec:Model",
    "AnthropicModel": "workbench.models.spec:AnthropicModel",
    "OpenAIModel": "workbench.models.spec:OpenAIModel",
    "GeminiModel": "workbench.models.spec:GeminiModel",
    "OllamaModel": "workbench.models.spec:OllamaModel",
    "HuggingFaceModel": "workbench.models.spec:HuggingFaceModel",
    "LlamaCppModel": "workbench.models.spec:LlamaCppModel",
    "InferenceScheduler": "workbench.models.local.scheduler:InferenceScheduler",
    "MCPClient": "workbench.tools.mcp:MCPClient",
    "errors": "workbench.errors",
    "aio": "workbench.aio",
    "log": "workbench.log",
    "tools": "workbench.tools",
    "embedder": "workbench.models.embeddings:embedder",
    "image_client": "workbench.models.images.client:image_client",
    "generate_image": "workbench.models.images.client:generate_image",
    "ImageResult": "workbench.models.images.result:ImageResult",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


def _link_frontend() -> None:
    """In a Jupyter kernel, let the JupyterLab extension's status bar and resume cells find
    workbench (registers a comm target with modules the kernel already imported)."""
    import sys

    if "ipykernel" not in sys.modules:
        return
    try:
        from workbench.notebook.frontend_comm import register

        register()
    except Exception:  # never let the frontend link break an import
        pass


_link_frontend()
