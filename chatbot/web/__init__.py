"""Web faces of the chatbot: JSON API, Gradio UI, embed page and widget, on one FastAPI server.

``create_app(bot, settings)`` builds the app around a loaded ``Chatbot``; ``serve(settings)`` loads
the bot once and runs uvicorn. Imports are lazy so ``import chatbot.web`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_app", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from chatbot.web import server

        return getattr(server, name)
    raise AttributeError(name)
