"""Driving real `libra-cli run` processes from tests (shared by the Tor end-to-end tests).

With ``netns`` a node runs inside that network namespace (tests/netns.py), e.g. behind a NAT;
its control API is then on the namespace's own loopback, so calls go through a socket opened
inside the namespace.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from libra_gui import control
from tests.netns import exec_prefix, run_in


class NodeProcess:
    """One `libra-cli run` subprocess and the JSON lines it printed."""

    def __init__(
        self, name: str, data_dir: Path, args: list[str], netns: str | None = None
    ) -> None:
        self.name, self.data_dir, self.args, self.netns = name, data_dir, args, netns
        self.events: list[dict[str, Any]] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.stderr_path = data_dir.parent / f"{name}.stderr"

    async def start(self) -> dict[str, Any]:
        self.events.clear()
        stderr = self.stderr_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *(exec_prefix(self.netns) if self.netns else []),
            sys.executable,
            "-m",
            "libra_gui.cli",
            "--log-level",
            "info",
            "run",
            "--data-dir",
            str(self.data_dir),
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        stderr.close()
        self._reader = asyncio.create_task(self._read())
        return await self.wait_event(lambda e: e["event"] == "ready", 120)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()

    async def wait_event(
        self, match: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        async def first() -> dict[str, Any]:
            async with self._changed:
                while True:
                    for event in self.events:
                        if match(event):
                            return event
                    if self.proc is not None and self.proc.returncode is not None:
                        raise AssertionError(f"{self.name} exited: {self.tail()}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(first(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: no matching event; {self.tail()}") from None

    def tail(self) -> str:
        err = (
            self.stderr_path.read_text(errors="replace")[-3000:]
            if self.stderr_path.exists()
            else ""
        )
        return f"last events {self.events[-5:]}; stderr: {err}"

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await self._reader
        assert self.events and self.events[-1]["event"] == "stopped", self.tail()

    @property
    def pid(self) -> int:
        """The node's pid (``ip netns exec`` execs the command, so no wrapper in between)."""
        assert self.proc is not None
        return self.proc.pid

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control-API request, from inside the node's namespace if it has one."""
        if self.netns is None:
            return await control.call(self.data_dir, request)
        return await asyncio.to_thread(
            run_in, self.netns, lambda: asyncio.run(control.call(self.data_dir, request))
        )

    async def send(self, contact: str, text: str) -> dict[str, Any]:
        return await self.call({"cmd": "send", "contact": contact, "text": text})

    async def history(self, contact: str, limit: int = 5000) -> list[dict[str, Any]]:
        request = {"cmd": "history", "contact": contact, "limit": limit}
        return (await self.call(request))["messages"]

    def link_up(self) -> Callable[[dict[str, Any]], bool]:
        start = len(self.events)
        return lambda e: (
            e in self.events[start:] and e["event"] == "link_state_changed" and e["state"] == "up"
        )


async def cli(*args: str | Path, netns: str | None = None) -> dict[str, Any]:
    """One `libra-cli` command (inside ``netns`` if given); its JSON output."""
    proc = await asyncio.create_subprocess_exec(
        *(exec_prefix(netns) if netns else []),
        sys.executable,
        "-m",
        "libra_gui.cli",
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def wait_history(
    node: NodeProcess, contact: str, expected: list[str], timeout: float
) -> None:
    """Until the node shows exactly ``expected`` as inbound messages, in order."""
    deadline = asyncio.get_running_loop().time() + timeout
    got: list[str] = []
    while asyncio.get_running_loop().time() < deadline:
        got = [m["body"] for m in await node.history(contact) if m["direction"] == "in"]
        if len(got) >= len(expected):
            break
        await asyncio.sleep(0.5)
    assert got == expected, f"{node.name}: {len(got)} of {len(expected)}; first diff at " + str(
        next((i for i, (x, y) in enumerate(zip(got, expected, strict=False)) if x != y), len(got))
    )
