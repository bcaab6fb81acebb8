"""Helpers for the link and peer-link tests (no tests here): loopback servers, a pausable
TCP relay, a bulk record type that exists only in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.errors import LibraError
from libra_gui.core.net.link import Link, LinkConfig
from libra_gui.core.protocol.records import LinkRecord, blob, uint, wire

ALICE = IdentityKeys.from_seeds(bytes([11]) * 32, bytes([12]) * 32)
BOB = IdentityKeys.from_seeds(bytes([13]) * 32, bytes([14]) * 32)
CAROL = IdentityKeys.from_seeds(bytes([15]) * 32, bytes([16]) * 32)
HOST = "127.0.0.1"


def fast(**overrides: Any) -> LinkConfig:
    """Link timings scaled down so failures show within a second."""
    values: dict[str, Any] = {
        "handshake_timeout": 2.0,
        "heartbeat_interval": 0.1,
        "dead_after": 0.5,
        "close_timeout": 1.0,
    }
    values.update(overrides)
    return LinkConfig(**values)


@dataclass(frozen=True, slots=True)
class FileChunk(LinkRecord):
    """Bulk test record (code 63, never sent by Libra) for the FILES channel."""

    TYPE: ClassVar[int] = 63
    seq: int = wire("s", uint(0, 2**32))
    data: bytes = wire("d", blob(1, 60_000))


class Collector:
    """A record consumer that remembers everything and lets tests wait for a count."""

    def __init__(self, delay: float = 0.0) -> None:
        self.records: list[LinkRecord] = []
        self.delay = delay
        self._changed = asyncio.Event()

    async def __call__(self, records: list[LinkRecord]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.records.extend(records)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[LinkRecord]:
        async with asyncio.timeout(timeout):
            while len(self.records) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.records


@dataclass
class LinkServer:
    """Loopback listener running Link.accept; keeps links, setup errors and close errors."""

    keys: IdentityKeys = BOB
    accept: Callable[[bytes], bool] = lambda identity: True
    config: LinkConfig = field(default_factory=fast)
    context: bytes = b""
    links: asyncio.Queue[Link] = field(default_factory=asyncio.Queue)
    outcomes: asyncio.Queue[LibraError | None] = field(default_factory=asyncio.Queue)
    collectors: list[Collector] = field(default_factory=list)
    port: int = 0
    delay: float = 0.0
    """Seconds the consumer sleeps per frame (a slow consumer)."""
    _all: list[Link] = field(default_factory=list)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> LinkServer:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for link in self._all:
            link.abort()
        async with asyncio.timeout(5):
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        collector = Collector(self.delay)
        try:
            link = await Link.accept(
                reader,
                writer,
                self.keys,
                accept_peer=self.accept,
                context=self.context,
                config=self.config,
                on_records=collector,
            )
        except LibraError as exc:
            await self.outcomes.put(exc)
            return
        self.collectors.append(collector)
        self._all.append(link)
        await self.links.put(link)
        await link.closed.wait()
        await self.outcomes.put(link.error)
        await link.wait_closed()

    async def outcome(self, timeout: float = 5.0) -> LibraError | None:
        """The next connection's fate: its setup error, or its close error (None = clean)."""
        async with asyncio.timeout(timeout):
            return await self.outcomes.get()

    async def next_link(self, timeout: float = 5.0) -> Link:
        async with asyncio.timeout(timeout):
            return await self.links.get()


async def dial(
    port: int,
    keys: IdentityKeys = ALICE,
    peer: IdentityKeys = BOB,
    *,
    ik: bool = False,
    config: LinkConfig | None = None,
    on_records: Callable[[list[LinkRecord]], Awaitable[None]] | None = None,
    context: bytes = b"",
) -> Link:
    reader, writer = await asyncio.open_connection(HOST, port)
    return await Link.connect(
        reader,
        writer,
        keys,
        expected_identity=peer.identity_public,
        remote_static=peer.static_public if ik else None,
        context=context,
        config=config or fast(),
        on_records=on_records,
    )


class Relay:
    """TCP relay to ``target_port`` whose directions the test can pause, or cut entirely."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        # "up": client -> target, "down": target -> client
        self.flowing = {"up": asyncio.Event(), "down": asyncio.Event()}
        for event in self.flowing.values():
            event.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def pause(self, *directions: str) -> None:
        for name in directions or ("up", "down"):
            self.flowing[name].clear()

    def resume(self) -> None:
        for event in self.flowing.values():
            event.set()

    def cut(self) -> None:
        """Abort every relayed connection (both ends see a reset, no Close)."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            t_reader, t_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers += [writer, t_writer]
        for args in ((reader, t_writer, "up"), (t_reader, writer, "down")):
            task = asyncio.get_running_loop().create_task(self._pump(*args))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: str
    ) -> None:
        try:
            while True:
                await self.flowing[direction].wait()
                data = await src.read(65536)
                if not data:
                    break
                await self.flowing[direction].wait()
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.transport.abort()
