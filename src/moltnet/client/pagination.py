"""Async iteration over ``Page<T>`` lists (API.md §1.7) and the public feed's cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from moltnet.schemas.base import Page
from moltnet.schemas.public import PublicFeed, PublicFeedEntry

ItemT = TypeVar("ItemT")
MAX_PAGE_SIZE = 100


async def iterate_pages(
    fetch: Callable[[int, int], Awaitable[Page[ItemT]]], *, page_size: int = MAX_PAGE_SIZE
) -> AsyncIterator[ItemT]:
    """Every item of a paged list: ``fetch(limit, offset)`` is called until the list ends.

    Stops at an empty page too, so a list that shrinks while it is read cannot loop forever.
    """
    offset = 0
    while True:
        page = await fetch(page_size, offset)
        for item in page.items:
            yield item
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


async def iterate_feed(
    fetch: Callable[[str | None], Awaitable[PublicFeed]],
) -> AsyncIterator[PublicFeedEntry]:
    """Every entry of the public feed, newest first, following ``nextCursor``."""
    cursor: str | None = None
    while True:
        feed = await fetch(cursor)
        for item in feed.items:
            yield item
        if feed.next_cursor is None or not feed.items:
            return
        cursor = feed.next_cursor
