"""Offline-first conversational question answering over a document, with checkable citations."""

from chatbot.types import Answer, Citation, Fact, Passage

__all__ = ["Answer", "Chatbot", "Citation", "Fact", "Passage"]


def __getattr__(name: str):  # lazy: importing the package must not load torch
    if name == "Chatbot":
        from chatbot.bot import Chatbot

        return Chatbot
    raise AttributeError(name)
