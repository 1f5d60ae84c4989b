"""Progress bars with an ETA for long build steps (tqdm on stderr); ``CHATBOT_PROGRESS=0`` silences them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def enabled() -> bool:
    return os.environ.get("CHATBOT_PROGRESS", "1") != "0"


def progress(items: Iterable[T], total: int, desc: str, show: bool | None = None) -> Iterator[T]:
    """``items`` unchanged, with a bar (count, rate, elapsed and remaining time) when shown."""
    if not (enabled() if show is None else show) or total == 0:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, total=total, desc=desc, unit="text", dynamic_ncols=True, mininterval=1.0)
