"""BackBot: an offline chatbot that answers back- and neck-pain questions from curated articles.

`from bot import Chatbot` is the whole public contract; heavy libraries (torch,
sentence-transformers, faiss) load only when a Chatbot is loaded or an index is built.
"""
from __future__ import annotations

__all__ = ["Chatbot", "__version__"]

#: The package version (pyproject.toml reads it from here): major.minor.patch.
__version__ = "1.0.0"


def __getattr__(name):
    if name == "Chatbot":
        from .chat import Chatbot

        return Chatbot
    raise AttributeError(name)
