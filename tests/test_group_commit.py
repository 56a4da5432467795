"""Group commit: every caller gets its own outcome, groups respect their key and size, a failing group
fails only the item that poisons it, and closing writes what is queued.

The writer here is a test double of the *database*, recording the groups it receives; the committer is
Herald's own and runs unmodified.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.profiles.group_commit import GroupCommitter, ShuttingDown


@dataclass(frozen=True)
class Item:
    number: int
    key: str
    size: int
    # "ok": written; "rejected": the writer reports an error for it alone; "poison": the write raises.
    fate: str = "ok"


class Rejected(Exception):
    pass


class Poisoned(Exception):
    pass


@dataclass
class Database:
    """Records the groups it is asked to write, and how many writes overlap."""

    groups: list[list[Item]] = field(default_factory=list)
    committed: list[Item] = field(default_factory=list)
    writing: int = 0
    most_writing: int = 0

    async def write(self, key: str, items: list[Item]) -> list[int | Exception]:
        self.groups.append(items)
        self.writing += 1
        self.most_writing = max(self.most_writing, self.writing)
        try:
            await asyncio.sleep(0)
            if any(item.fate == "poison" for item in items):
                raise Poisoned(key)
            self.committed.extend(i for i in items if i.fate == "ok")
            return [Rejected(i.number) if i.fate == "rejected" else i.number * 2 for i in items]
        finally:
            self.writing -= 1


Committer = GroupCommitter[str, Item, int]


def run(
    database: Database, scenario: Callable[[Committer], Coroutine[Any, Any, None]], **options: Any
) -> None:
    """Run ``scenario`` with a started committer, on a loop of its own (hypothesis calls synchronously)."""

    async def started() -> None:
        committer: Committer = GroupCommitter("test", database.write, **options)
        loop_task = asyncio.create_task(committer.run())
        try:
            await scenario(committer)
        finally:
            loop_task.cancel()

    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        runner.run(started())


items = st.lists(
    st.builds(
        lambda key, size, fate: (key, size, fate),
        st.sampled_from("ab"),
        st.integers(1, 12),
        st.sampled_from(["ok"] * 6 + ["rejected", "poison"]),
    ),
    max_size=60,
).map(lambda specs: [Item(n, *spec) for n, spec in enumerate(specs)])


@settings(deadline=None, max_examples=150)
@given(
    items=items,
    max_size=st.integers(1, 30),
    concurrency=st.integers(1, 4),
    max_delay=st.sampled_from([0.0, 0.0005]),
    pauses=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_every_caller_gets_its_own_outcome(items, max_size, concurrency, max_delay, pauses) -> None:
    database = Database()

    async def scenario(committer: Committer) -> None:
        calls = []
        for item, pause in zip(items, pauses, strict=False):
            calls.append(asyncio.create_task(committer.submit(item.key, item, item.size)))
            if pause:
                await asyncio.sleep(0)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await committer.close()

        for item, outcome in zip(items, outcomes, strict=True):
            if item.fate == "ok":
                assert outcome == item.number * 2
            elif item.fate == "rejected":
                assert isinstance(outcome, Rejected) and outcome.args == (item.number,)
            else:
                assert isinstance(outcome, Poisoned)
        assert sorted(i.number for i in database.committed) == [i.number for i in items if i.fate == "ok"]
        assert database.most_writing <= concurrency
        for group in database.groups:
            assert len({i.key for i in group}) == 1
            assert len(group) == 1 or sum(i.size for i in group) <= max_size

    run(database, scenario, max_delay=max_delay, max_size=max_size, concurrency=concurrency)


def test_a_full_group_goes_before_the_delay() -> None:
    database = Database()

    async def scenario(committer: Committer) -> None:
        results = await asyncio.gather(*(committer.submit("a", Item(n, "a", 1), 1) for n in range(10)))
        assert results == [n * 2 for n in range(10)]
        assert [len(g) for g in database.groups] == [10]

    run(database, scenario, max_delay=3600, max_size=10, concurrency=1)


def test_close_writes_what_is_queued_then_refuses() -> None:
    database = Database()

    async def scenario(committer: Committer) -> None:
        calls = [asyncio.create_task(committer.submit(k, Item(n, k, 1), 1)) for n, k in enumerate("abab")]
        await asyncio.sleep(0)
        assert database.groups == []
        await committer.close()
        assert [c.result() for c in calls] == [0, 2, 4, 6]
        assert sorted(len(g) for g in database.groups) == [2, 2]
        with pytest.raises(ShuttingDown):
            await committer.submit("a", Item(9, "a", 1), 1)

    run(database, scenario, max_delay=3600, max_size=1000, concurrency=2)


def test_a_partial_group_holds_back_the_next_of_its_key() -> None:
    database = Database()
    started, gate = asyncio.Event(), asyncio.Event()
    write = database.write

    async def gated_write(key: str, items: list[Item]) -> list[int | Exception]:
        if items[0].number == 0:
            started.set()
            await gate.wait()
        return await write(key, items)

    database.write = gated_write  # type: ignore[method-assign]

    async def scenario(committer: Committer) -> None:
        first = asyncio.create_task(committer.submit("a", Item(0, "a", 1), 1))
        await started.wait()
        later = [asyncio.create_task(committer.submit("a", Item(n, "a", 1), 1)) for n in range(1, 6)]
        assert await committer.submit("b", Item(9, "b", 1), 1) == 18  # other keys are not held back
        assert [[i.number for i in g] for g in database.groups] == [[9]]
        gate.set()
        assert await first == 0
        assert await asyncio.gather(*later) == [2, 4, 6, 8, 10]
        assert [[i.number for i in g] for g in database.groups] == [[9], [0], [1, 2, 3, 4, 5]]

    run(database, scenario, max_delay=0, max_size=100, concurrency=4)
