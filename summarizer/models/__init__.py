"""Models by name: ``local/<model>``, ``openai/<model>``, ``fake/<anything>``."""

from __future__ import annotations

from ..config import default_model
from ..errors import ConfigurationError
from .base import ChatRequest, ChatResponse, Model
from .fake import ScriptedModel

PROVIDERS = ("local", "openai", "fake")


def get_model(model: str | Model | None = None) -> Model:
    """The model named ``provider/model`` (default: ``$SUMMARIZER_MODEL``, else the embedded default)."""
    if model is not None and not isinstance(model, str):
        return model
    name = model or default_model()
    provider, sep, rest = name.partition("/")
    if not sep or not rest:
        raise ConfigurationError(
            f"model names are provider/model, e.g. local/smollm2-135m or openai/gpt-4o-mini; got {name!r}"
        )
    if provider == "local":
        from .local import LocalModel

        return LocalModel.from_name(name)
    if provider == "openai":
        from .openai_compat import OpenAIModel

        return OpenAIModel.from_name(name)
    if provider == "fake":
        return ScriptedModel(name=name)
    raise ConfigurationError(f"unknown model provider {provider!r} in {name!r}; use one of {', '.join(PROVIDERS)}")


__all__ = ["ChatRequest", "ChatResponse", "Model", "ScriptedModel", "get_model"]
