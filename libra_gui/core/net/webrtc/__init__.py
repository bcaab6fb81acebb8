"""The direct path: a WebRTC data channel carrying the same Link as Tor (design.md §6).

``attempt`` runs one peer connection up to a bound channel; ``transport`` turns that channel
into the asyncio stream the Link reads and writes. Rules: docs/protocol/direct-channel.md.
aiortc itself is imported only when an attempt is created.
"""

from .attempt import DirectAttempt, DirectConfig, DirectFailed, IceServer
from .transport import DirectStreamError, StreamTuning

__all__ = [
    "DirectAttempt",
    "DirectConfig",
    "DirectFailed",
    "DirectStreamError",
    "IceServer",
    "StreamTuning",
]
