"""Question understanding: one spaCy parse per question becomes a frozen ``Query`` that later steps read."""

from chatbot.understanding.query import AnswerType, Query, analyse, split_parts

__all__ = ["AnswerType", "Query", "analyse", "split_parts"]
