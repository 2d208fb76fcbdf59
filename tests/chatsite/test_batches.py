"""Work handed in together is done together, and each caller gets its own item's outcome."""

import asyncio

from chatsite.core.batches import Batcher


async def test_items_handed_in_together_go_in_batches_of_the_limit_and_each_caller_gets_its_outcome():
    batches = []

    async def handle(items):
        batches.append(items)
        return [ValueError(f"item {item} refused") if item == 2 else item * 10 for item in items]

    batcher = Batcher(handle, lambda: 3)
    outcomes = await asyncio.gather(*(batcher.submit(item) for item in range(5)), return_exceptions=True)

    assert batches == [[0, 1, 2], [3, 4]]
    assert outcomes[:2] == [0, 10]
    assert outcomes[3:] == [30, 40]
    assert str(outcomes[2]) == "item 2 refused", "one item's refusal is its caller's alone"


async def test_a_batch_that_fails_fails_each_of_its_callers_and_the_next_batch_still_runs():
    async def handle(items):
        if 0 in items:
            raise RuntimeError("the database is gone")
        return items

    batcher = Batcher(handle, lambda: 2)
    outcomes = await asyncio.gather(*(batcher.submit(item) for item in range(3)), return_exceptions=True)

    assert [str(outcome) for outcome in outcomes[:2]] == ["the database is gone"] * 2
    assert outcomes[2] == 2
