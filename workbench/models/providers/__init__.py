"""The thin I/O side of cloud providers: which SDK object sends a request built by ``wire/``.

``base.CloudClient`` drives one model call, sync (``_turn``) and async (``_aturn``), with
the shared RetryPolicy; ``openai_compat``, ``anthropic`` and ``ollama`` name their SDK calls.
Modules here import their SDK only when a client first sends a request.
"""
