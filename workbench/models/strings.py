"""``"provider:model_id"`` parsing and resolution to a provider and a ModelSpec."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import re

from workbench.errors import ModelStringError
from workbench.models.redact import redact_text
from workbench.models.registry import PROVIDERS, ProviderInfo, provider_info
from workbench.models.spec import CATALOGS, Model, ModelSpec


@dataclass(frozen=True)
class ResolvedModel:
    provider: ProviderInfo
    spec: ModelSpec
    member: Model | None = None       # the catalog entry, when there is one
    base_url: str | None = None       # from an 'openai-compat:MODEL@URL' string

    @property
    def model_string(self) -> str:
        return f"{self.provider.name}:{self.spec.id}"


_MODEL_AT_URL = re.compile(r"^(?P<model>[^@]+?)@(?P<url>[A-Za-z][A-Za-z0-9+.-]*://\S+)$")


class UnknownModelWarning(UserWarning):
    """A model id that no catalog lists: it is used with conservative capability flags."""


def _suggest(model_id: str) -> str:
    hits = [f"'{p}:{m.id}'" for p, cat in CATALOGS.items() for m in cat if m.id == model_id]
    return f" Did you mean {' or '.join(hits)}?" if hits else ""


def parse_model_string(text: str) -> tuple[str, str]:
    """Split ``"provider:model_id"`` at the first colon (model ids may contain colons)."""
    if not isinstance(text, str):
        raise ModelStringError(f"A model string must be a str like 'openai:gpt-4.1', got {type(text).__name__}.")
    provider, sep, model_id = text.strip().partition(":")
    if not sep or not provider or not model_id.strip():
        raise ModelStringError(
            f"Malformed model string {redact_text(text)!r}: write it as 'provider:model_id', e.g. "
            f"'anthropic:claude-sonnet-4-6'. Providers: {', '.join(sorted(PROVIDERS))}.{_suggest(text.strip())}"
        )
    return provider.lower(), model_id.strip()


def resolve_model(model: "str | Model | ResolvedModel") -> ResolvedModel:
    """Turn a model string, a catalog member or a ResolvedModel into a ResolvedModel.

    An id that the provider's catalog does not list works, with an UnknownModelWarning
    and conservative flags (no tools, thinking or vision assumed).
    """
    if isinstance(model, ResolvedModel):
        return model
    if isinstance(model, Model):
        return ResolvedModel(provider_info(type(model).provider_name()), model.spec, model)
    provider_name, model_id = parse_model_string(model)
    info = provider_info(provider_name)
    base_url = None
    if provider_name == "openai-compat" and "@" in model_id:
        # MODEL@URL splits at the '@' that starts the URL: a URL may carry user info
        # (http://user:pass@host/v1), which is kept for the connection and never shown.
        match = _MODEL_AT_URL.match(model_id)
        if not match:
            raise ModelStringError(
                f"Malformed model string {redact_text(model)!r}: write 'openai-compat:MODEL@http://host:port/v1'.")
        model_id, base_url = match["model"], match["url"]
    catalog = CATALOGS.get(provider_name)
    member = catalog.by_id(model_id) if catalog else None
    if member is not None:
        return ResolvedModel(info, member.spec, member, base_url)
    if catalog is not None and not _accepts_any_id(provider_name, model_id):
        warnings.warn(
            f"{provider_name}:{model_id} is not in the {catalog.__name__} catalog; using it with "
            "conservative flags (tools, thinking and vision off unless you pass them).",
            UnknownModelWarning, stacklevel=3)
    return ResolvedModel(info, ModelSpec.unknown(model_id), None, base_url)


def resolve_quietly(model: "str | Model | ResolvedModel") -> ResolvedModel:
    """``resolve_model`` without the chat catalogs' UnknownModelWarning: for embedders and
    image models, which those catalogs do not list and whose flags (tools, thinking) mean
    nothing there."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelWarning)
        return resolve_model(model)


def _accepts_any_id(provider: str, model_id: str) -> bool:
    # Local paths for in-process providers are not "unknown models".
    return provider in ("hf", "llamacpp") and ("/" in model_id or model_id.endswith(".gguf"))


def model_label(model: "str | Model") -> str:
    """The canonical 'provider:model_id' of a string or catalog member, for cache keys and UIs."""
    return resolve_model(model).model_string if not isinstance(model, str) else \
        "{}:{}".format(*parse_model_string(model))
