"""The copies of a channel a sender thread keeps so that several requests are in flight at once: a Channel
holds one connection and belongs to one thread of work, so n requests in flight need n instances, opened
when first needed and closed with the Dispatcher (campaigns/delivery/dispatch.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from channels import Channel


class ChannelCopies:
    """{channel key: requests in flight at most}, and the copies opened so far to carry them."""

    def __init__(self, concurrency: Mapping[str, int] | None, open_copy: Callable[[str], Channel] | None) -> None:
        # More than one request in flight needs open_copy(key) to open the copies.
        self.concurrency = {key: n for key, n in (concurrency or {}).items() if open_copy is not None and n > 1}
        self.open_copy = open_copy
        self.copies: dict[str, list[Channel]] = {}

    def limit(self, key: str) -> int:
        return self.concurrency.get(key, 1)

    def pool(self, key: str, channel: Channel) -> list[Channel]:
        """`channel` and enough copies of it for the key's concurrency, one request in flight on each."""
        copies = self.copies.setdefault(key, [])
        while self.open_copy is not None and len(copies) + 1 < self.limit(key):
            copies.append(self.open_copy(key))
        return [channel, *copies]

    def close(self) -> None:
        """Close the copies opened here (whoever gave the channels closes those)."""
        for copies in self.copies.values():
            for copy in copies:
                copy.close()
        self.copies.clear()
