"""Recording a batch's answers while it is still being sent, a few at a time (issue 12, item 4).

A batch used to be recorded in one transaction after its last message: a sender killed mid-batch
left every claimed row `sending`, and when the lease ran out an at-most-once campaign counted them
all `unknown` — in one run 793 of 1,000 such rows had in fact reached the provider. Now the answers
are committed in groups as they arrive, so a kill leaves without a record only the message being
sent at that moment plus the answers of the group not yet committed.

The rest of the batch, not yet handed over, must not count as possibly sent either: the claim marks
it all not handed over (Message.handed_over), and a commit opens a window of the next RECORD_EVERY
messages before the first of them leaves; a dead sender's rows outside its window go back to pending
(outbox.release_untried_leases). A group is committed when the window is used up (its last answer
is in), or when an answer arrives RECORD_SECONDS or more after the last commit, so a slow provider's
answers do not wait for the window to fill. Both are small on purpose: a commit is cheap next to the
provider calls, and a window is what a kill can leave unknown.

A channel sent with several requests in flight (campaigns/delivery/pacing.py, BatchPace.send_concurrently)
cannot wait for a window to be used up before the next opens: that would empty the pipe every window.
It slides instead (`open_ahead`): before a message leaves, what waits is recorded and messages are opened
up to `window` past the last answer recorded — only when at least half a window can be opened, so commits
stay few. Rows handed over and not recorded are then never more than `window` per sender thread
(the requests in flight plus the answers of the group not yet committed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from channels import SendResult

RECORD_EVERY = 20  # messages per window; bounds what a kill can leave unknown per sender thread
RECORD_SECONDS = 0.05  # an answer this long after the last commit is committed at once


class AnswerGroups:
    """Collects one batch's answers and hands them to `record` in small groups (see the module doc).

    `order` is the batch's message ids in the order the channels will hand them over. Each call
    `record(answers, opening)` records a group of answers and says which further messages the sender
    may hand over before the next call (Message.handed_over): a window of RECORD_EVERY, opened when
    the last one is used up — the answer to its last message is recorded, with the window after it,
    before the next message is handed over. A sender that dies therefore leaves at most one window
    `sending` and possibly sent; the rest of its batch was never handed over and goes back to pending.
    The sender calls `open_window()` (or `open_through(ids)`) before handing messages over, and
    `flush()` when the batch is done.
    Belongs to one sender thread, as the Dispatcher does.
    """

    def __init__(self, record: Callable[[list[SendResult], list[int]], None], order: Sequence[int], *,
                 every: int = RECORD_EVERY, seconds: float = RECORD_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._record = record
        self._order = list(order)
        self._position = {message_id: i for i, message_id in enumerate(self._order)}
        self.every = max(1, every)
        self.seconds = seconds
        self._monotonic = monotonic
        self._waiting: list[SendResult] = []
        self._answered = 0  # answers to messages in `order`, recorded or waiting
        self._opened = 0  # order[:_opened] may be handed over
        self._last_commit = float("-inf")
        self.groups = 0  # calls to record so far (tests and logs)

    def start(self, known: Sequence[SendResult] = ()) -> None:
        """Take the answers known before sending (a template that cannot render): recorded with the first group."""
        self._waiting.extend(known)

    def open_window(self) -> None:
        """Before handing a message over one at a time: open the next window if this one is used up."""
        if self._answered >= self._opened:
            self.flush()

    def add(self, result: SendResult) -> None:
        """One answer, as the channel reports it; committed with its group (see the module doc)."""
        self._take(result)
        # The window is used up (the next message is outside it), or a slow answer should not wait.
        if self._answered >= self._opened or self._monotonic() - self._last_commit >= self.seconds:
            self.flush()

    def add_together(self, results: Sequence[SendResult]) -> None:
        """Answers that came all at once (a channel that answers a batch when it is done): one group."""
        for result in results:
            self._take(result)
        self.flush()

    def open_through(self, message_ids: Sequence[int]) -> None:
        """Let all of `message_ids` be handed over at once (a channel that takes the whole batch in one
        call, so none can wait for the window to move), recording what waits with them."""
        last = max((self._position[mid] for mid in message_ids if mid in self._position), default=-1)
        if last >= self._opened:
            self.flush(through=last + 1)

    def open_ahead(self, message_id: int, window: int, *, force: bool = False) -> bool:
        """A concurrent sender, before handing `message_id` over: True once it is open. Opening records what
        waits and opens up to `window` (at least `every`) messages past the last answer; False (nothing done)
        while that would not reach it, or would open less than half a window, before more answers come —
        unless `force` (nothing is in flight, so no answer can come)."""
        position = self._position.get(message_id)
        if position is None or position < self._opened:
            return True
        window = max(window, self.every)  # flush() may open `every` past the answers itself
        limit = min(len(self._order), self._answered + window)
        if not force and (position >= limit or (limit < len(self._order) and limit - self._opened < window // 2)):
            return False
        self.flush(through=max(limit, position + 1))
        return True

    def flush(self, *, through: int = 0) -> None:
        """Record the answers not yet recorded, and open the next window once this one is used up (only
        then: every message opened and not sent would count unknown if the sender died)."""
        target = max(through, self._answered + self.every if self._answered >= self._opened else 0)
        opening = self._order[self._opened:min(len(self._order), target)]
        if not self._waiting and not opening:
            return
        group, self._waiting = self._waiting, []
        self._opened += len(opening)
        self._record(group, opening)
        self.groups += 1
        self._last_commit = self._monotonic()

    def _take(self, result: SendResult) -> None:
        self._waiting.append(result)
        if result.message_id in self._position:
            self._answered += 1
