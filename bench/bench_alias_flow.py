"""Adding someone by three words, end to end, vs reaching a fresh onion, on a private Tor network.

One private network (``tests/tornet.py``) and in-process Libra ``Node``s, each with its own tor
(as ``libra-cli run`` runs them). Alice is findable by her words (public beacon, descriptor
published before any clock starts). Each round has a fresh requester Bob (new profile, new
Node, new tor, all started before the clock).

Row (seconds, mean over the rounds; Libra and baseline alternate, same tors, same run):

* Libra: the words typed into Bob's node -> lookup (beacon address from the words, Tor
  connect, Noise handshake, card bound to the words) -> request delivered (proof of work,
  RECEIVED) -> Alice's node accepts (as soon as the request event fires) -> her first
  message is *delivered* (her node dialled Bob's inbox, link up, Bob stored and acked it).
* Baseline: ADD_ONION of a fresh plain onion service on Alice's tor + the first successful
  SOCKS CONNECT to it from Bob's tor (retried every 0.1 s, as soon as tor accepted the
  ADD_ONION) + one 200-byte echo round trip. Goal: <= 1.2x raw.

The Libra flow does more than the baseline by design, and the per-round breakdown on stderr
shows where: two Argon2id derivations for the lookup (beacon address, alias binding, each
~0.2 s), the request's proof of work (Argon2id puzzle, ~0.65 s mean at 12 bits, exponential
spread), the beacon's rendezvous, and then a *fresh* descriptor anyway: adding Alice as a
contact re-publishes Bob's inbox with her client-auth key, which Alice's tor must fetch
before the first link. Nothing is tuned for this bench.

Needs ``tor`` and ``tor-gencert``; run from the repository root
(``python -m bench alias_flow``). About 70 s (``--quick``: about 30 s).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_tor import (
    ECHO_MAGIC,
    BenchError,
    Peer,
    RawServer,
    TorNetwork,
    connect,
    row,
    run_on_private_network,
    step,
)
from libra_gui.core.crypto import alias as alias_crypto
from libra_gui.core.services import lookup as lookup_service
from libra_gui.core.services.beacon import ContactRequestReceived
from libra_gui.core.services.events import LinkStateChanged

RAW_PORT = 5759
ECHO_BYTES = 200


def log(text: str) -> None:
    print(f"  [alias-flow] {text}", file=sys.stderr, flush=True)


class Desk:
    """Alice's bus listener: perf_counter time of each incoming request and link change."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[tuple[float, int]] = asyncio.Queue()
        self.link_up: dict[int, float] = {}

    def __call__(self, event: object) -> None:
        now = time.perf_counter()
        if isinstance(event, ContactRequestReceived):
            self.requests.put_nowait((now, event.request_id))
        elif isinstance(event, LinkStateChanged) and event.state == "up":
            self.link_up.setdefault(event.contact_id, now)


class CryptoClock:
    """Seconds spent in the lookup's Argon2id derivations and the request's proof of work
    (wraps the module attributes ``services.lookup`` calls; restored by ``close``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._saved: list[tuple[Any, str, Any]] = []
        self._wrap(alias_crypto, "beacon_address", "argon2id")
        self._wrap(alias_crypto, "verify_binding", "argon2id")
        self._wrap(lookup_service, "make_request", "pow")

    def _wrap(self, module: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:  # runs in a worker thread; a float add under the GIL is fine here
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t0

        self._saved.append((module, name, inner))
        setattr(module, name, timed)

    def reset(self) -> None:
        self.seconds = {}

    def close(self) -> None:
        for module, name, inner in self._saved:
            setattr(module, name, inner)


async def libra_round(alice: Peer, bob: Peer, desk: Desk, words: str, clock: CryptoClock) -> float:
    """Words typed at Bob -> Alice's first message delivered (seconds), with a breakdown."""
    assert alice.node is not None and bob.node is not None
    marks: dict[str, float] = {}
    lookup = bob.node.lookup

    async def timed_lookup(*args: Any, **kwargs: Any) -> lookup_service.Found:
        found = await lookup(*args, **kwargs)
        marks["card verified"] = time.perf_counter()
        return found

    bob.node.lookup = timed_lookup  # type: ignore[method-assign]
    clock.reset()
    t0 = time.perf_counter()
    await bob.node.request_contact(words, "hi, it's Bob")
    marks["request RECEIVED"] = time.perf_counter()
    marks["owner notified"], request_id = await desk.requests.get()
    contact = await alice.node.accept_request(request_id)
    marks["accepted"] = time.perf_counter()
    msg_id = await alice.node.messaging.send_text(contact.id, "welcome, Bob")
    t_end = await asyncio.wait_for(alice.delivered.wait(msg_id), 120)
    if contact.id in desk.link_up:
        marks["link up"] = desk.link_up[contact.id]
    marks["first message delivered"] = t_end
    steps = ", ".join(f"{k} {v - t0:.2f}" for k, v in sorted(marks.items(), key=lambda kv: kv[1]))
    crypto = ", ".join(f"{k} {v:.2f}" for k, v in sorted(clock.seconds.items()))
    log(f"libra: {steps} s (of which {crypto} s)")
    return t_end - t0


async def raw_round(alice: Peer, bob: Peer, echo_port: int, round_no: int) -> float:
    """ADD_ONION of a fresh service on Alice's tor -> first CONNECT from Bob's tor -> echo."""
    assert alice.node is not None and bob.node is not None
    payload = os.urandom(ECHO_BYTES)
    _host, socks_port = await bob.node.tor.socks_endpoint()
    t0 = time.perf_counter()
    address = await alice.node.tor.add_onion(
        None, RAW_PORT, echo_port, max_streams=None, pow_defenses=False
    )
    t_added = time.perf_counter()
    try:
        reader, writer, seen = await connect(socks_port, address, RAW_PORT, f"raw{round_no}", 90)
        t_conn = time.perf_counter()
        writer.write(ECHO_MAGIC + payload)
        await writer.drain()
        if await asyncio.wait_for(reader.readexactly(ECHO_BYTES), 30) != payload:
            raise BenchError("the raw echo returned other bytes")
        t_end = time.perf_counter()
        writer.close()
    finally:
        await alice.node.tor.remove_onion(address)
    log(
        f"raw:   service added {t_added - t0:.2f}, connected {t_conn - t0:.2f}, "
        f"echoed {t_end - t0:.2f} s ({len(seen)} failed probes)"
    )
    return t_end - t0


async def _measure(network: TorNetwork, base: Path, quick: bool) -> list[dict]:
    rounds = 2 if quick else 6
    torrc = network.client_torrc_lines()
    echo = RawServer()
    desk = Desk()
    clock = CryptoClock()
    alice: Peer | None = None
    bob: Peer | None = None
    libra: list[float] = []
    raw: list[float] = []
    try:
        await echo.start()
        async with step("starting Alice, findable by her words", 120):
            alice = await Peer.create("alice", base)
            alice.bus.add_listener(desk)
            node = await alice.open(torrc)
            await node.start()
            await node.aliases.set_findable(True)
            await node.refresh_beacon()
            beacon = node.beacon.address
            if beacon is None or not await node.tor.wait_published(beacon, 60):
                raise BenchError("Alice's beacon was not published")
            words = (await node.aliases.state()).alias.text
            log(f"Alice findable as {words!r}")
        for i in range(rounds):
            async with step(f"round {i}: starting a fresh Bob", 120):
                bob = await Peer.create(f"bob{i}", base)
                await (await bob.open(torrc)).start()
            order = ("libra", "raw") if i % 2 == 0 else ("raw", "libra")
            for side in order:
                async with step(f"round {i}: {side}", 150):
                    if side == "libra":
                        libra.append(await libra_round(alice, bob, desk, words, clock))
                    else:
                        raw.append(await raw_round(alice, bob, echo.port, i))
            await bob.close()
            bob = None
    finally:
        clock.close()
        for peer in (bob, alice):
            if peer is not None:
                await peer.close()
        echo.close()
    log(
        "libra s: "
        + ", ".join(f"{x:.2f}" for x in libra)
        + f" (median {statistics.median(libra):.2f})"
    )
    log(
        "raw s:   " + ", ".join(f"{x:.2f}" for x in raw) + f" (median {statistics.median(raw):.2f})"
    )
    return [
        row(
            f"Alias: words typed -> lookup -> request -> accepted -> first message delivered "
            f"(mean of {len(libra)})",
            "s",
            statistics.mean(libra),
            statistics.mean(raw),
            "ADD_ONION of a fresh service + first SOCKS CONNECT from another tor + one echo",
            "<= 1.2x raw",
        )
    ]


def run(quick: bool = False) -> list[dict]:
    """Start a private Tor network, measure, stop every tor. ~70 s (quick: ~30 s)."""
    return run_on_private_network("alias_flow", _measure, quick)


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(
            f"{r['name']:<80} {r['libra']:>8} {r['unit']:<3} baseline {r['baseline']:>8}"
            f"  goal {r['goal']}"
        )
