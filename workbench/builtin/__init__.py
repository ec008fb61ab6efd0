"""The built-in models: built offline on first use, deterministically, in the user cache.

- ``workbench-tiny`` (``tiny``): a small chat LM trained on a script corpus, as transformers
  weights and a GGUF file (``tiny_corpus``, ``tiny_train``, ``gguf_export``).
- ``workbench-tiny-sd`` (``tiny_sd``): a small text-to-image diffusers pipeline trained on
  pictures of coloured shapes (``tiny_sd_data``, ``tiny_sd_train``).

They live apart from the clients that run any model (``workbench.models.local``,
``workbench.models.images``); ``build`` holds what their builds share (the cache folder,
the cross-process lock, the check for the training stack).
"""
