"""One turn against one model: specs and catalogs, model strings, StreamChunk, the client contract."""

from workbench.models.chunks import Phase, StreamChunk
from workbench.models.client import BaseModelClient, ModelClient
from workbench.models.spec import (AnthropicModel, GeminiModel, HuggingFaceModel, LlamaCppModel, Model,
                                   ModelSpec, OllamaModel, OpenAIModel)
from workbench.models.strings import parse_model_string, resolve_model
from workbench.models.turn import TurnResult

__all__ = ["AnthropicModel", "BaseModelClient", "GeminiModel", "HuggingFaceModel", "LlamaCppModel", "Model",
           "ModelClient", "ModelSpec", "OllamaModel", "OpenAIModel", "Phase", "StreamChunk", "TurnResult",
           "parse_model_string", "resolve_model"]
