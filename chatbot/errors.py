"""Domain errors. The faces (CLI, API, UI) turn these into user-facing messages."""


class ChatbotError(Exception):
    """Base class: the message tells the user what went wrong and how to fix it."""


class ConfigError(ChatbotError):
    """A setting is missing or invalid."""


class CorpusError(ChatbotError):
    """A corpus file cannot be read or parsed."""


class IndexBuildError(ChatbotError):
    """The index is missing, corrupt or cannot be built."""


class CuratedFactError(ChatbotError):
    """A curated fact's quote does not occur verbatim in its document."""


class QuestionError(ChatbotError):
    """The question is empty, too long or malformed."""


class Cancelled(ChatbotError):
    """The question was abandoned (its client left, or its time budget ran out): work stopped."""


class LLMError(ChatbotError):
    """The generative endpoint failed, timed out or returned unverifiable output."""
