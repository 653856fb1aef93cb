import time
import uuid

from driftwarden.core import new_request_id


def test_a_generated_id_is_a_uuid7_of_32_hex_digits():
    request_id = new_request_id()
    assert len(request_id) == 32
    parsed = uuid.UUID(hex=request_id)
    assert parsed.hex == request_id
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_a_generated_id_begins_with_the_time_in_milliseconds():
    before = time.time_ns() // 1_000_000
    request_id = new_request_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(hex=request_id).int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_later():
    first = new_request_id()
    deadline = time.monotonic() + 1
    while int(new_request_id()[:12], 16) == int(first[:12], 16):  # wait out the millisecond
        assert time.monotonic() < deadline
    assert new_request_id() > first


def test_ids_made_in_the_same_millisecond_differ_in_their_random_bits():
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    # Version and variant are fixed; the 74 bits around them are not.
    randoms = {uuid.UUID(hex=i).int & ((1 << 76) - 1) & ~(0b11 << 62) for i in ids}
    assert len(randoms) == len(ids)
