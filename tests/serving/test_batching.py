import asyncio

import numpy as np
import pytest

from driftwarden.serving.batching import MicroBatcher


def _frame(values):
    return [{"x": float(v)} for v in values]


def _x(rows):
    return np.array([row["x"] for row in rows])


def test_micro_batcher_scores_concurrent_requests_in_few_calls():
    calls = []

    def score(frame):
        calls.append(len(frame))
        return _x(frame) * 2

    async def main():
        batcher = MicroBatcher(score, max_rows=64, max_wait_ms=20)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(_frame([i])) for i in range(40)))
        await batcher.stop()
        return results, batcher

    results, batcher = asyncio.run(main())
    assert [r.tolist() for r in results] == [[2.0 * i] for i in range(40)]
    assert sum(calls) == 40
    assert len(calls) < 5
    assert (batcher.batches, batcher.rows) == (len(calls), 40)


def test_micro_batcher_caps_the_batch_size():
    calls = []

    def score(frame):
        calls.append(len(frame))
        return np.zeros(len(frame))

    async def main():
        batcher = MicroBatcher(score, max_rows=8, max_wait_ms=50)
        batcher.start()
        await asyncio.gather(*(batcher.submit(_frame([i])) for i in range(30)))
        await batcher.stop()

    asyncio.run(main())
    assert max(calls) <= 8
    assert sum(calls) == 30


def test_micro_batcher_keeps_multi_row_requests_together():
    async def main():
        batcher = MicroBatcher(lambda f: _x(f) + 1, max_rows=4, max_wait_ms=5)
        batcher.start()
        out = await asyncio.gather(batcher.submit(_frame([1, 2, 3])), batcher.submit(_frame([7])))
        await batcher.stop()
        return out

    first, second = asyncio.run(main())
    assert first.tolist() == [2.0, 3.0, 4.0]
    assert second.tolist() == [8.0]


def test_micro_batcher_failure_reaches_every_waiter_and_it_keeps_running():
    state = {"fail": True}

    def score(frame):
        if state["fail"]:
            raise RuntimeError("model exploded")
        return np.ones(len(frame))

    async def main():
        batcher = MicroBatcher(score, max_wait_ms=5)
        batcher.start()
        outcomes = await asyncio.gather(
            batcher.submit(_frame([1])), batcher.submit(_frame([2])), return_exceptions=True
        )
        state["fail"] = False
        after = await batcher.submit(_frame([3]))
        await batcher.stop()
        await batcher.stop()  # a second stop is harmless
        return outcomes, after

    outcomes, after = asyncio.run(main())
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    with pytest.raises(RuntimeError, match="model exploded"):
        raise outcomes[0]
    assert after.tolist() == [1.0]


def test_micro_batcher_scores_a_lone_request_without_waiting():
    async def main():
        batcher = MicroBatcher(_x, max_rows=64)
        batcher.start()
        out = await batcher.submit(_frame([5]))
        await batcher.stop()
        return out, batcher

    out, batcher = asyncio.run(main())
    assert out.tolist() == [5.0]
    assert batcher.max_wait == 0
    assert (batcher.batches, batcher.rows) == (1, 1)


def test_micro_batcher_batches_what_queues_while_it_scores():
    calls = []

    def score(rows):
        calls.append(len(rows))
        return _x(rows)

    async def main():
        batcher = MicroBatcher(score, max_rows=64)
        batcher.start()
        # All 30 are queued before the batcher runs: with no wait they still form one batch.
        results = await asyncio.gather(*(batcher.submit(_frame([i])) for i in range(30)))
        await batcher.stop()
        return results

    results = asyncio.run(main())
    assert [r.tolist() for r in results] == [[float(i)] for i in range(30)]
    assert calls == [30]
