"""The compiled core and its pure-Python twin agree: same results (floats to the last bit) and the same
errors, for the same random calls and sequences of calls."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sender_ext.types import AddressForm, Rate, SlowDown, Substitution

Cores = tuple[ModuleType, ModuleType]

# Text that exercises the rules: separators, whitespace, capitals, non-ASCII, anything else.
texts = st.text(st.one_of(st.sampled_from(list(" \t\n\r\x0b\x0c@.+AaZzÄéÜ")), st.characters()), max_size=30)
kinds = st.one_of(st.sampled_from(list(AddressForm)), st.integers(0, 255))
# Few addresses in several spellings, so that rows repeat and domains share buckets.
spellings = st.sampled_from(["a@x.com", "A@X.COM", " a@x.com", "b@x.com", "c@Y.org", "nodomain", "ab", "AB"])
forms = [AddressForm.MAILBOX, AddressForm.MAILBOX, AddressForm.CASELESS, AddressForm.VERBATIM]
rows = st.lists(st.tuples(st.sampled_from(forms), spellings))
not_str = st.sampled_from([None, 5, b"a@x.com", ["a@x.com"]])
rates = st.builds(
    Rate,
    count=st.floats(0.001, 1e6),
    per=st.floats(0.001, 1e5),
    burst=st.one_of(st.just(0.0), st.floats(1, 1e4)),
)
policies = st.builds(
    SlowDown,
    factor=st.floats(0.01, 0.99),
    floor=st.floats(0.001, 1.0),
    recovery_seconds=st.floats(0.1, 1e4),
    cooldown_seconds=st.floats(0, 100),
)


def outcome(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """A call's result, or its error's type and message, in a form that compares bit for bit."""
    try:
        result = call(*args, **kwargs)
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return ("returned", repr(result))


def same(cores: Cores, call: Callable[[ModuleType], Any]) -> tuple[Any, ...]:
    twin, compiled = (outcome(call, core) for core in cores)
    assert twin == compiled
    return twin


@given(address=st.one_of(texts, not_str))
def test_email_domains_agree(cores: Cores, address: Any) -> None:
    same(cores, lambda core: core.email_domain(address))


throttle_steps = st.lists(
    st.one_of(
        st.tuples(st.just("batch"), st.floats(-5, 50), rows, st.one_of(st.none(), st.lists(st.booleans()))),
        st.tuples(st.sampled_from(["slow_down", "multiplier"]), st.floats(-5, 50), spellings),
        st.tuples(st.just("share"), st.floats(-0.5, 1.5)),
        st.tuples(st.just("set_limit"), spellings, rates),
    ),
    max_size=25,
)


@given(
    default=rates, limits=st.dictionaries(spellings, rates, max_size=3), policy=policies, steps=throttle_steps
)
def test_throttle_sequences_agree(
    cores: Cores, default: Rate, limits: dict[str, Rate], policy: SlowDown, steps: list[tuple[Any, ...]]
) -> None:
    throttles = [core.Throttle(default, limits, policy) for core in cores]
    now = 1.7e9
    for step in steps:
        if step[0] == "batch":
            _, elapsed, batch, live = step
            now += elapsed
            column = bytes(kind for kind, _ in batch)
            addresses = [address for _, address in batch]
            mask = None if live is None else bytes(live[: len(batch)] + [True] * (len(batch) - len(live)))
            results = [outcome(t.take_batch, column, addresses, now, mask) for t in throttles]
        elif step[0] == "share":
            results = [outcome(setattr, t, "share", step[1]) for t in throttles]
        elif step[0] == "set_limit":
            results = [outcome(t.set_limit, step[1], step[2]) for t in throttles]
        else:
            action, elapsed, address = step
            now += elapsed
            domain = address.rpartition("@")[2]
            results = [outcome(getattr(t, action), domain, now) for t in throttles]
        assert results[0] == results[1], step
        assert throttles[0].share == throttles[1].share


@given(
    rate=rates,
    start=st.floats(-1e9, 2e9),
    calls=st.lists(st.tuples(st.floats(-1e9, 2e9), st.integers(-1, 10**7)), max_size=20),
)
def test_pacer_sequences_agree(
    cores: Cores, rate: Rate, start: float, calls: list[tuple[float, int]]
) -> None:
    twin, compiled = (core.Pacer(rate, start) for core in cores)
    for now, sent in calls:
        assert outcome(twin.plan, now, sent) == outcome(compiled.plan, now, sent)
        assert twin.start == compiled.start


@given(
    channels=st.lists(st.integers(-1, 4), max_size=40),
    sizes=st.lists(st.integers(0, 5), max_size=5),
    live=st.one_of(st.none(), st.lists(st.booleans(), max_size=40)),
)
def test_batching_agrees(
    cores: Cores, channels: list[int], sizes: list[int], live: list[bool] | None
) -> None:
    same(cores, lambda core: core.group_batches(channels, sizes, live))


plan_steps = st.lists(
    st.tuples(
        st.floats(0, 5),
        st.lists(
            st.tuples(st.integers(-1, 2), st.one_of(spellings, not_str), kinds, st.booleans()), max_size=12
        ),
        st.booleans(),
    ),
    max_size=8,
)


@given(default=rates, limits=st.dictionaries(spellings, rates, max_size=3), steps=plan_steps)
def test_batch_plans_agree(
    cores: Cores, default: Rate, limits: dict[str, Rate], steps: list[tuple[float, list[Any], bool]]
) -> None:
    """Sorted or not, bad keys and channels included: same plans, same errors, same throttle state."""
    throttles = [core.Throttle(default, limits) for core in cores]
    now = 1.7e9
    for elapsed, batch, sort in steps:
        now += elapsed
        if sort:
            batch = sorted(batch, key=repr)
        keys = [key.lower() if isinstance(key, str) else key for _, key, _, _ in batch]
        addresses = [key for _, key, _, _ in batch]
        channels = [channel for channel, _, _, _ in batch]
        forms = bytes(form for _, _, form, _ in batch)
        live = bytes(alive for _, _, _, alive in batch)
        results = [
            outcome(core.plan_batch, keys, addresses, channels, forms, live, throttle, now, [2, 3, 1])
            for core, throttle in zip(cores, throttles, strict=True)
        ]
        assert results[0] == results[1]


substituted_values = st.one_of(
    texts,
    st.sampled_from(["<b>", "Bob & 'Co' \"Ltd\"", "a\r\nb\rc", "Ünïcode <ü>", "\U0001f600&"]),
    st.none(),
    st.integers(),
)


@given(
    columns=st.lists(st.tuples(st.integers(-1, 3), st.booleans()), max_size=4),
    rows=st.lists(st.lists(substituted_values, min_size=3, max_size=3), max_size=6),
)
def test_substitution_rows_agree(
    cores: Cores, columns: list[tuple[int, bool]], rows: list[list[Any]]
) -> None:
    """Index 3 is past the rows' end: the same IndexError from both."""
    specs = [
        Substitution(f"h{number}", index, escape, lambda row, n=number: f"rendered {n} {row!r}")
        for number, (index, escape) in enumerate(columns)
    ]
    same(cores, lambda core: core.substitution_rows(specs, [tuple(row) for row in rows]))
