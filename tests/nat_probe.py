"""One raw aiortc peer connection through the NAT lab, independent of Libra.

Run inside a namespace (cwd: the repo root)::

    ip netns exec NS python -m tests.nat_probe --role offer --exchange DIR [--ice URL]...

The two roles swap their SDP through files in the shared ``--exchange`` directory (aiortc
gathers every candidate before ``setLocalDescription`` returns, so one offer and one answer
suffice). Both then wait for a data-channel ping/pong, or give up at ``--timeout``, and print
one JSON line: connected or not, the selected candidate pair's types and addresses, the local
candidate types gathered, and the time taken. This proves what a NAT topology allows before
Libra's direct path is blamed for anything.

ICE servers are always explicit: an empty list, never None (aiortc then falls back to a
public STUN server, which must never be contacted from a test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

POLL_SECONDS = 0.05


def candidate_types(sdp: str) -> list[str]:
    """Types of the ``a=candidate`` lines in an SDP (``... typ host ...``)."""
    types = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:") and " typ " in line:
            types.append(line.split(" typ ", 1)[1].split()[0])
    return types


def selected_pair(pc: RTCPeerConnection) -> dict[str, Any]:
    """The nominated candidate pair (aiortc exposes no stats for it: read aioice's state)."""
    try:
        ice = pc.sctp.transport.transport  # type: ignore[union-attr]
        pair = ice._connection._nominated[1]
    except (AttributeError, KeyError):
        return {"local_candidate": None, "remote_candidate": None}
    local, remote = pair.local_candidate, pair.remote_candidate
    return {
        "local_candidate": local.type,
        "remote_candidate": remote.type,
        "local_address": f"{local.host}:{local.port}",
        "remote_address": f"{remote.host}:{remote.port}",
    }


async def _wait_file(path: Path, deadline: float) -> str:
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path.name} from the other side")
        await asyncio.sleep(POLL_SECONDS)
    return path.read_text()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


async def probe(role: str, exchange: Path, ice_urls: list[str], timeout: float) -> dict[str, Any]:
    """Run one side; the result says whether the data channel carried a ping and its pong."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    config = RTCConfiguration(iceServers=[RTCIceServer(url) for url in ice_urls])
    pc = RTCPeerConnection(configuration=config)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    report: dict[str, Any] = {"role": role, "connected": False}

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def connected() -> None:
        # Read the pair now: once the other side hangs up, aioice forgets it.
        report.update(connected=True, **selected_pair(pc))
        finish()

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "failed":
            finish()

    try:
        if role == "offer":
            channel = pc.createDataChannel("probe")

            @channel.on("open")
            def on_open() -> None:
                channel.send("ping")

            @channel.on("message")
            def on_pong(message: object) -> None:
                if message == "pong":
                    connected()

            await pc.setLocalDescription(await pc.createOffer())
            _write_atomically(exchange / "offer.json", pc.localDescription.sdp)
            answer = await _wait_file(exchange / "answer.json", deadline)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        else:

            @pc.on("datachannel")
            def on_channel(channel: RTCDataChannel) -> None:
                @channel.on("message")
                def on_ping(message: object) -> None:
                    if message == "ping":
                        channel.send("pong")
                        connected()

            offer = await _wait_file(exchange / "offer.json", deadline)
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            _write_atomically(exchange / "answer.json", pc.localDescription.sdp)
        report["gathered"] = candidate_types(pc.localDescription.sdp)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done, max(0.0, deadline - time.monotonic()))
        if report["connected"] and role == "answer":
            await asyncio.sleep(0.5)  # let the pong leave before closing
        report["state"] = pc.connectionState
    except TimeoutError as exc:
        report["error"] = str(exc)
    finally:
        report["seconds"] = round(time.monotonic() - t0, 3)
        await pc.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("offer", "answer"), required=True)
    parser.add_argument("--exchange", type=Path, required=True, help="shared directory")
    parser.add_argument("--ice", action="append", default=[], help="a stun: URL (repeatable)")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    report = asyncio.run(probe(args.role, args.exchange, args.ice, args.timeout))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
