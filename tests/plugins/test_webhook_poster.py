"""The emulators' webhook poster: reports go in batches per target, in order, and again after a refusal,
as providers post them; a target that keeps refusing is given up."""

from __future__ import annotations

from plugins._webhook_poster import WebhookPoster


class Target:
    """A webhook target answering the statuses given, then 200; it records every call."""

    def __init__(self, *statuses: int) -> None:
        self._statuses = list(statuses)
        self.calls: list[tuple[str, list[int]]] = []

    async def post(self, url: str, batch: list[int]) -> int:
        self.calls.append((url, batch))
        return self._statuses.pop(0) if self._statuses else 200


async def test_batches_go_in_order_at_most_batch_size_each() -> None:
    target = Target()
    poster: WebhookPoster[str, int] = WebhookPoster(target.post, batch_size=3, interval=0)
    poster.add("a", range(7))
    poster.add("b", [100])
    await poster.settled()
    await poster.close()
    assert target.calls == [("a", [0, 1, 2]), ("a", [3, 4, 5]), ("a", [6]), ("b", [100])]


async def test_a_refused_batch_is_posted_again_before_the_rest() -> None:
    target = Target(503, 500)
    poster: WebhookPoster[str, int] = WebhookPoster(target.post, batch_size=2, interval=0)
    poster.add("a", range(3))
    await poster.settled()
    await poster.close()
    assert target.calls == [("a", [0, 1])] * 3 + [("a", [2])]


async def test_a_target_that_keeps_refusing_is_given_up_and_others_still_get_theirs() -> None:
    target = Target(*[401] * 3)
    poster: WebhookPoster[str, int] = WebhookPoster(target.post, batch_size=10, interval=0, attempts=3)
    poster.add("refusing", [1, 2])
    await poster.settled()
    poster.add("other", [3])
    await poster.settled()
    await poster.close()
    assert target.calls == [("refusing", [1, 2])] * 3 + [("other", [3])]
