import asyncio

import numpy as np
import pytest

from driftwarden.serving.batching import MicroBatcher


def _frame(values):
    return [{"x": float(v)} for v in values]


def _x(rows):
    return np.array([row["x"] for row in rows])


def _counting():
    """A scorer that returns each row's x and records the size of every batch it scores."""
    calls = []

    def score(rows):
        calls.append(len(rows))
        return _x(rows)

    return calls, score


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
    calls, score = _counting()

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


def test_micro_batcher_lets_requests_parsed_in_the_next_turn_of_the_loop_join():
    calls, score = _counting()

    async def main():
        batcher = MicroBatcher(score, max_rows=64)
        batcher.start()

        async def one_turn_later():
            await asyncio.sleep(0)  # as a request whose bytes are parsed a turn later
            return await batcher.submit(_frame([1]))

        results = await asyncio.gather(batcher.submit(_frame([0])), one_turn_later())
        await batcher.stop()
        return results

    results = asyncio.run(main())
    assert [r.tolist() for r in results] == [[0.0], [1.0]]
    assert calls == [2]


def _records(tag):
    """A ``record`` function: one record per score, tagged with the request."""
    return lambda scores: [f"{tag}:{score:g}" for score in scores.tolist()]


class _Store:
    """A ``commit`` that keeps each batch's records and answers when the test says so."""

    def __init__(self):
        self.calls = []
        self.futures = []

    def __call__(self, records):
        self.calls.append(list(records))
        future = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


async def _until(condition, seconds=30.0):
    """Let the loop run until ``condition`` holds (the deadline only stops a hung test)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the condition did not hold within {seconds:g} s")
        await asyncio.sleep(0.001)


def test_micro_batcher_stores_a_batchs_records_in_one_call_before_answering():
    store = _Store()

    async def main():
        batcher = MicroBatcher(lambda rows: _x(rows) * 2, in_thread=False, commit=store)
        batcher.start()
        tasks = [
            asyncio.ensure_future(batcher.submit(_frame([i, i + 10]), _records(f"r{i}")))
            for i in range(3)
        ]
        await _until(lambda: store.calls)
        await asyncio.sleep(0)
        answered_before_commit = [t.done() for t in tasks]
        store.futures[0].set_result([None] * len(store.calls[0]))
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return answered_before_commit, results

    answered_before_commit, results = asyncio.run(main())
    assert answered_before_commit == [False, False, False]
    assert store.calls == [["r0:0", "r0:20", "r1:2", "r1:22", "r2:4", "r2:24"]]
    assert [r.tolist() for r in results] == [[0.0, 20.0], [2.0, 22.0], [4.0, 24.0]]


def test_micro_batcher_fails_only_the_request_whose_record_is_refused():
    store = _Store()
    refused = ValueError("value out of range")

    async def main():
        batcher = MicroBatcher(_x, in_thread=False, commit=store)
        batcher.start()
        tasks = [
            asyncio.ensure_future(batcher.submit(_frame([i]), _records(f"r{i}"))) for i in range(3)
        ]
        await _until(lambda: store.calls)
        store.futures[0].set_result([None, refused, None])
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.stop()
        return outcomes

    first, second, third = asyncio.run(main())
    assert (first.tolist(), third.tolist()) == ([0.0], [2.0])
    assert second is refused


def test_micro_batcher_fails_only_the_request_whose_record_function_raises():
    store = _Store()

    def broken(scores):
        raise KeyError("no such feature")

    async def main():
        batcher = MicroBatcher(_x, in_thread=False, commit=store)
        batcher.start()
        good = asyncio.ensure_future(batcher.submit(_frame([1]), _records("good")))
        bad = asyncio.ensure_future(batcher.submit(_frame([2]), broken))
        await _until(lambda: store.calls)
        store.futures[0].set_result([None])
        outcomes = await asyncio.gather(good, bad, return_exceptions=True)
        await batcher.stop()
        return outcomes

    good, bad = asyncio.run(main())
    assert good.tolist() == [1.0]
    assert isinstance(bad, KeyError)
    assert store.calls == [["good:1"]]


@pytest.mark.parametrize("how", ["raises", "fails", "cancelled"])
def test_micro_batcher_fails_every_storing_request_when_the_store_fails(how):
    async def main():
        loop = asyncio.get_running_loop()

        def commit(records):
            if how == "raises":
                raise RuntimeError("the writer is not running")
            future = loop.create_future()
            if how == "fails":
                future.set_exception(OSError("disk full"))
            else:
                future.cancel()
            return future

        batcher = MicroBatcher(_x, in_thread=False, commit=commit)
        batcher.start()
        outcomes = await asyncio.gather(
            batcher.submit(_frame([1]), _records("a")),
            batcher.submit(_frame([2]), _records("b")),
            batcher.submit(_frame([3])),  # stores nothing: answered whatever the store does
            return_exceptions=True,
        )
        await batcher.stop()
        return outcomes

    first, second, plain = asyncio.run(main())
    expected = {"raises": RuntimeError, "fails": OSError, "cancelled": RuntimeError}[how]
    assert type(first) is expected
    assert type(second) is expected
    assert plain.tolist() == [3.0]


def test_micro_batcher_without_a_store_still_builds_the_records():
    built = []

    def record(scores):
        built.append(scores.tolist())
        return ["row"]

    async def main():
        batcher = MicroBatcher(_x)
        batcher.start()
        out = await batcher.submit(_frame([4]), record)
        await batcher.stop()
        return out

    assert asyncio.run(main()).tolist() == [4.0]
    assert built == [[4.0]]


def test_micro_batcher_skips_callers_that_stopped_waiting():
    store = _Store()

    async def main():
        batcher = MicroBatcher(_x, in_thread=False, commit=store)
        batcher.start()
        gone_early = asyncio.ensure_future(batcher.submit(_frame([1]), _records("early")))
        await asyncio.sleep(0)
        gone_early.cancel()  # before its batch is scored: nothing of it is stored
        await asyncio.sleep(0)
        gone_late = asyncio.ensure_future(batcher.submit(_frame([2]), _records("late")))
        stays = asyncio.ensure_future(batcher.submit(_frame([3]), _records("stays")))
        await _until(lambda: store.calls)
        gone_late.cancel()  # while its record is being stored: the record is still stored
        await asyncio.sleep(0)
        store.futures[0].set_result([None, None])
        out = await stays
        await batcher.stop()
        return out

    assert asyncio.run(main()).tolist() == [3.0]
    assert store.calls == [["late:2", "stays:3"]]


@pytest.mark.parametrize("in_thread", [False, True])
def test_a_request_that_reaches_a_stopped_batcher_is_scored_not_left_waiting(in_thread):
    # A request takes the champion, a swap stops that champion's batcher, and only then does
    # the request's scoring task run: it must still be answered, and logged through `commit`.
    calls, score = _counting()
    stored = []

    def commit(records):
        stored.extend(records)
        done = asyncio.get_running_loop().create_future()
        done.set_result([None] * len(records))
        return done

    async def main():
        batcher = MicroBatcher(score, in_thread=in_thread, commit=commit)
        batcher.start()
        assert (await batcher.submit(_frame([1]))).tolist() == [1.0]
        await batcher.stop()
        late = batcher.submit(_frame([7, 8]), lambda scores: [float(s) for s in scores])
        return await asyncio.wait_for(late, timeout=30)

    assert asyncio.run(main()).tolist() == [7.0, 8.0]
    assert calls == [1, 2]
    assert stored == [7.0, 8.0]
