"""``summarizer serve``: the library over HTTP (FastAPI on uvicorn), an extra: ``pip install 'summarizer[serve]'``.

:func:`summarizer.service.app.create_app` builds the ASGI app from a :class:`~summarizer.service.app.ServiceConfig`;
keys are :mod:`summarizer.service.keys` (no web stack needed for those). The request and response bodies are the
library's own pydantic models (``SummarizeOptions``, ``Summary``), so the OpenAPI schema at ``/docs`` is the
library's schema.
"""
