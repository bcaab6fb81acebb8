"""Encrypted store vs plain SQLite, same schema, same code, same run.

Rows:

* insert: 100k realistic messages (random 16-byte ids, 10-400 character bodies, both
  directions, 20 conversations) through ``messages.insert`` in transactions of 1,000 rows,
  into the real ``Database`` (SQLCipher 4, WAL, synchronous=FULL, secure_delete) vs stdlib
  ``sqlite3`` with the same schema and pragmas. Goal: SQLCipher >= 0.5x the plain rate.
* open conversation: ``messages.latest(conv, 200)`` as the first query on a freshly opened
  connection (cold SQLite page cache, so every page is read and - for SQLCipher - decrypted),
  median over reopen cycles; the Libra number includes the hop to the DB thread.
  Goal: <= 20 ms.
* unlock: deriving the key with the default Argon2id cost vs SQLCipher's own passphrase KDF
  (PBKDF2-HMAC-SHA512, 256,000 iterations) on an empty database. Goal: 0.5-1 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlcipher3

from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.storage import (
    DEFAULT_KDF,
    INSECURE_TEST_KDF,
    Database,
    contacts,
    conversations,
    messages,
    transaction,
)
from libra_gui.core.storage.database import PRAGMAS
from libra_gui.core.storage.keyfile import Header, derive_key
from libra_gui.core.storage.migrations import MIGRATIONS

CONVERSATIONS = 20
BATCH = 1_000
REOPENS = 7
_TEXT = (
    "the quick brown fox jumps over a lazy dog tor onion meet later ok see you soon message"
    " libra key safe tomorrow morning call me back thanks"
)
WORDS = tuple(_TEXT.split())

Row = tuple[int, bytes, str, int, str, str, int]


def make_rows(count: int, seed: int = 7) -> list[Row]:
    """(conversation index, msg_id, direction, seq, body, state, sent_at), chronological."""
    rnd = random.Random(seed)
    seqs = {(c, d): 0 for c in range(CONVERSATIONS) for d in ("in", "out")}
    rows: list[Row] = []
    t = 1_700_000_000_000
    for _ in range(count):
        conv = rnd.randrange(CONVERSATIONS)
        direction = rnd.choice(("in", "out"))
        seqs[conv, direction] += 1
        length = rnd.randint(10, 400)
        body = ""
        while len(body) < length:
            body += rnd.choice(WORDS) + " "
        t += rnd.randint(1, 60_000)
        state = "received" if direction == "in" else "delivered"
        rows.append((conv, rnd.randbytes(16), direction, seqs[conv, direction], body, state, t))
    return rows


def setup_conversations(conn: sqlcipher3.Connection) -> list[int]:
    ids = []
    for i in range(CONVERSATIONS):
        contact = contacts.add(conn, IdentityKeys.generate().identity_public, f"Peer {i}")
        ids.append(conversations.for_contact(conn, contact.id).id)
    return ids


def insert_batch(conn: sqlcipher3.Connection, conv_ids: list[int], rows: list[Row]) -> None:
    for conv, msg_id, direction, seq, body, state, sent_at in rows:
        received_at = sent_at + 500 if direction == "in" else None
        messages.insert(
            conn,
            conv_ids[conv],
            msg_id,
            direction,  # type: ignore[arg-type]
            seq,
            body,
            state,  # type: ignore[arg-type]
            sent_at=sent_at,
            received_at=received_at,
        )


def busiest(rows: list[Row], conv_ids: list[int]) -> list[int]:
    """Conversation ids to query, largest first (each ~1/20 of the table)."""
    counts = {c: 0 for c in range(CONVERSATIONS)}
    for row in rows:
        counts[row[0]] += 1
    return [conv_ids[c] for c in sorted(counts, key=counts.get, reverse=True)]  # type: ignore[arg-type]


async def bench_sqlcipher(directory: Path, rows: list[Row]) -> tuple[float, float]:
    db = await Database.create(directory, "bench passphrase", kdf_params=INSECURE_TEST_KDF)
    try:
        conv_ids = await db.transaction(setup_conversations)
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            await db.transaction(insert_batch, conv_ids, rows[i : i + BATCH])
        rate = len(rows) / (time.perf_counter() - start)
    finally:
        await db.close()
    targets = busiest(rows, conv_ids)
    times = []
    for i in range(REOPENS):
        db = await Database.open(directory, "bench passphrase")
        try:
            start = time.perf_counter()
            page = await db.run(messages.latest, targets[i % len(targets)], 200)
            times.append(time.perf_counter() - start)
            assert len(page) == 200
        finally:
            await db.close()
    return rate, statistics.median(times) * 1000


def plain_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def bench_plain(path: Path, rows: list[Row]) -> tuple[float, float]:
    conn = plain_connect(path)
    try:
        with transaction(conn):  # type: ignore[arg-type]
            for step in MIGRATIONS:
                step.apply(conn)  # type: ignore[arg-type]
            conv_ids = setup_conversations(conn)  # type: ignore[arg-type]
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with transaction(conn):  # type: ignore[arg-type]
                insert_batch(conn, conv_ids, rows[i : i + BATCH])  # type: ignore[arg-type]
        rate = len(rows) / (time.perf_counter() - start)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    targets = busiest(rows, conv_ids)
    times = []
    for i in range(REOPENS):
        conn = plain_connect(path)
        try:
            start = time.perf_counter()
            page = messages.latest(conn, targets[i % len(targets)], 200)  # type: ignore[arg-type]
            times.append(time.perf_counter() - start)
            assert len(page) == 200
        finally:
            conn.close()
    return rate, statistics.median(times) * 1000


def bench_unlock(directory: Path, repeats: int) -> tuple[float, float]:
    header = Header.new(DEFAULT_KDF)
    argon = []
    for _ in range(repeats):
        start = time.perf_counter()
        derive_key("correct horse battery staple", header)
        argon.append(time.perf_counter() - start)
    path = directory / "pbkdf2.db"
    conn = sqlcipher3.connect(str(path))
    conn.execute("PRAGMA key = 'correct horse battery staple'")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    pbkdf2 = []
    for _ in range(repeats):
        start = time.perf_counter()
        conn = sqlcipher3.connect(str(path))
        conn.execute("PRAGMA key = 'correct horse battery staple'")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        pbkdf2.append(time.perf_counter() - start)
        conn.close()
    return statistics.median(argon), statistics.median(pbkdf2)


def run(quick: bool = False) -> list[dict]:
    count = 10_000 if quick else 100_000
    rows = make_rows(count)
    with tempfile.TemporaryDirectory(prefix="libra-bench-store-") as tmp:
        base = Path(tmp)
        enc_rate, enc_latest = asyncio.run(bench_sqlcipher(base / "profile", rows))
        plain_rate, plain_latest = bench_plain(base / "plain.db", rows)
        argon, pbkdf2 = bench_unlock(base, 1 if quick else 3)
    n = f"{count // 1000}k"
    return [
        {
            "name": f"store: insert {n} messages (1k/tx)",
            "unit": "rows/s",
            "libra": round(enc_rate),
            "baseline": round(plain_rate),
            "baseline_name": "plain sqlite3, same schema",
            "goal": ">= 0.5x plain",
        },
        {
            "name": f"store: open conversation, latest 200 of {n} (cold)",
            "unit": "ms",
            "libra": round(enc_latest, 2),
            "baseline": round(plain_latest, 2),
            "baseline_name": "plain sqlite3",
            "goal": "<= 20 ms",
        },
        {
            "name": (
                f"store: unlock KDF, Argon2id ops={DEFAULT_KDF.opslimit} "
                f"mem={DEFAULT_KDF.memlimit >> 20} MiB"
            ),
            "unit": "s",
            "libra": round(argon, 3),
            "baseline": round(pbkdf2, 3),
            "baseline_name": "SQLCipher PBKDF2-SHA512 256k",
            "goal": "0.5-1 s",
        },
    ]


if __name__ == "__main__":
    for result in run(quick=bool(os.environ.get("QUICK"))):
        print(result)
