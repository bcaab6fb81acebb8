"""Wire-format throughput: Libra's Batcher + decode_frame vs raw msgpack, in the same run.

Rows (records/s are encode + decode round trips, from record objects to record objects):

* Envelopes carrying 200 B of ratchet ciphertext (a typical chat message), batched;
* Acks of 8 message ids, batched;
* a realistic mix (8 Envelopes : 1 Ack : 1 Ping) through a MessageReader as well.

The baseline is ``msgpack.packb`` + ``msgpack.unpackb`` of the same dicts with no framing,
padding, limits or validation: the gap is what strictness, bucket padding and batching cost.
Tor carries well under 5,000 such records per second, so the goal leaves ample headroom.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import msgpack

from libra_gui.core.protocol.records import KIND_NORMAL, Ack, Envelope, LinkRecord, Ping
from libra_gui.core.protocol.wire import Batcher, MessageReader, decode_frame, encode_message

BATCH = 64
GOAL = ">= 50,000 records/s"


def _rate(step: Callable[[], int], seconds: float) -> float:
    """Records per second of ``step`` (which returns how many records it handled)."""
    step()  # warm-up
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        done += step()
    return done / (time.perf_counter() - start)


def _envelopes(rng: random.Random) -> list[LinkRecord]:
    return [Envelope(rng.randbytes(16), KIND_NORMAL, rng.randbytes(200)) for _ in range(BATCH)]


def _acks(rng: random.Random) -> list[LinkRecord]:
    return [Ack(tuple(rng.randbytes(16) for _ in range(8))) for _ in range(BATCH)]


def _mix(rng: random.Random) -> list[LinkRecord]:
    out: list[LinkRecord] = []
    for i in range(BATCH):
        if i % 10 == 8:
            out.append(Ack((rng.randbytes(16),)))
        elif i % 10 == 9:
            out.append(Ping(rng.getrandbits(64)))
        else:
            out.append(Envelope(rng.randbytes(16), KIND_NORMAL, rng.randbytes(200)))
    return out


def _libra(records: Sequence[LinkRecord], *, stream: bool = False) -> Callable[[], int]:
    def step() -> int:
        batcher = Batcher()
        batcher.extend(records)
        frames = batcher.flush()
        if stream:  # as a link does, minus the Noise encryption in between
            frames = MessageReader().feed(b"".join(map(encode_message, frames)))
        out = [r for f in frames for r in decode_frame(f)]
        assert len(out) == len(records)
        return len(out)

    return step


def _baseline(records: Sequence[LinkRecord]) -> Callable[[], int]:
    dicts = [r.to_wire() for r in records]

    def step() -> int:
        out = [msgpack.unpackb(msgpack.packb(d, use_bin_type=True)) for d in dicts]
        return len(out)

    return step


def run(quick: bool = False) -> list[dict]:
    """Measure every row; about 6 s in full, under 1 s with quick=True."""
    seconds = 0.15 if quick else 1.0
    rng = random.Random(1)
    rows = []
    for name, records, stream in (
        ("Envelope 200 B, Batcher + decode_frame", _envelopes(rng), False),
        ("Ack of 8 ids, Batcher + decode_frame", _acks(rng), False),
        ("mix 8 Envelope : 1 Ack : 1 Ping, + stream framing", _mix(rng), True),
    ):
        rows.append(
            {
                "name": f"wire round trip: {name} ({BATCH} per flush)",
                "unit": "records/s",
                "libra": round(_rate(_libra(records, stream=stream), seconds)),
                "baseline": round(_rate(_baseline(records), seconds)),
                "baseline_name": "raw msgpack.packb + unpackb of the same dicts",
                "goal": GOAL,
            }
        )
    return rows


if __name__ == "__main__":
    import sys

    started = time.perf_counter()
    for row in run(quick="--quick" in sys.argv):
        print(
            f"{row['name']:<72} {row['libra']:>10,} {row['unit']:<10}"
            f" baseline {row['baseline']:>10,}  goal {row['goal']}"
        )
    print(f"({time.perf_counter() - started:.1f} s)")
