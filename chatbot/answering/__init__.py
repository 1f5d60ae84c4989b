"""Answering: follow-up condensing, the offline answerer, the optional LLM answerer, verification."""
