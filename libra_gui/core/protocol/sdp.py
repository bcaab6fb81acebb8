"""The SDP a Libra peer may send for the direct path, and the channel binding (pure, no IO).

A peer's offer or answer travels inside the authenticated Tor link (records.DirectOffer /
DirectAnswer), but its *content* is still hostile: aiortc would resolve a hostname or an mDNS
``.local`` candidate with the system resolver (a DNS lookup outside Tor), its parser raises
assorted exceptions on odd input, and a second or weaker fingerprint would loosen the DTLS
check. So :func:`check_sdp` accepts only the small grammar aiortc itself emits for one
pre-negotiated data channel (docs/protocol/direct-channel.md §2) and refuses everything else
with :class:`BadSdp` before aiortc sees the bytes.

After the channel opens, both sides prove they hold the link's ``bind_key`` with
:func:`binding_mac` over both DTLS fingerprints, and the link handshake on the channel uses
:func:`binding_context` (§3).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field

from ..errors import ProtocolError
from .records import BIND_KEY_LEN, MAX_SDP

MAX_CANDIDATES = 32
FINGERPRINT_LEN = 32
"""A sha-256 DTLS certificate fingerprint."""
DEFAULT_MAX_MESSAGE_SIZE = 65536
"""What a peer that advertises no ``a=max-message-size`` accepts (RFC 8841 §6)."""
MIN_MAX_MESSAGE_SIZE = 1024
"""A smaller advertised maximum (other than 0 = unlimited) is refused: it would only turn
our stream into a flood of tiny messages."""
MAX_MESSAGE_SIZE_LIMIT = 2**32 - 1

ROLES = ("offerer", "answerer")
BINDING_LABEL = b"libra direct-channel binding v1"
CONTEXT_PREFIX = b"webrtc:"

_ICE_UFRAG = re.compile(r"[A-Za-z0-9+/]{4,256}")
_ICE_PWD = re.compile(r"[A-Za-z0-9+/]{22,256}")
_FOUNDATION = re.compile(r"[A-Za-z0-9+/]{1,32}")
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]{1,64}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_HEX_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}")
_MEDIA_LINE = re.compile(r"application ([0-9]{1,5}) UDP/DTLS/SCTP webrtc-datachannel")
_SETUP_VALUES = ("actpass", "active", "passive")
_CANDIDATE_TYPES = ("host", "srflx", "prflx", "relay")

_SESSION_ATTRS = frozenset(
    {"group", "msid-semantic", "ice-ufrag", "ice-pwd", "fingerprint", "setup"}
)
_MEDIA_ATTRS = frozenset(
    {
        "mid",
        "sctp-port",
        "max-message-size",
        "candidate",
        "end-of-candidates",
        "ice-ufrag",
        "ice-pwd",
        "fingerprint",
        "setup",
    }
)


class BadSdp(ProtocolError):
    """A peer's SDP that Libra refuses; the message says which rule it broke."""


@dataclass(frozen=True)
class SdpInfo:
    """What the direct path needs from a checked SDP (no addresses: they are sensitive)."""

    fingerprint: bytes
    """The peer's 32-byte sha-256 DTLS certificate fingerprint."""
    setup: str
    """DTLS role: "actpass" (an offer), "active" or "passive" (an answer)."""
    max_message_size: int
    """Largest data-channel message the peer accepts; 0 means no limit."""
    candidate_types: tuple[str, ...]
    """"host" / "srflx" / "prflx" / "relay", one per candidate, in SDP order (for logs)."""


# --- checking -------------------------------------------------------------------------------


def check_sdp(sdp: bytes) -> SdpInfo:
    """Validate a peer's offer or answer; BadSdp names the first rule it breaks.

    The rules are docs/protocol/direct-channel.md §2: ASCII, at most MAX_SDP bytes, one
    ``m=application`` data-channel section, exactly one ``a=fingerprint`` (sha-256),
    ICE credentials, at most 32 UDP candidates whose addresses are IP literals, and no line
    or attribute outside that grammar.
    """
    lines = _split_lines(sdp)
    if lines[0] != "v=0":
        raise BadSdp("an SDP must start with v=0")
    session: list[str] = []
    media: list[str] | None = None
    for line in lines[1:]:
        if line.startswith("m="):
            if media is not None:
                raise BadSdp("more than one m= section")
            media = [line]
        elif media is None:
            session.append(line)
        else:
            media.append(line)
    if media is None:
        raise BadSdp("no m=application section")

    counts: dict[str, int] = {}
    state = _Collected()
    for line in session:
        _check_session_line(line, counts, state)
    for key in ("o", "s", "t"):
        if counts.get(key, 0) != 1:
            raise BadSdp(f"the session needs exactly one {key}= line")

    match = _MEDIA_LINE.fullmatch(media[0][2:])
    if match is None:
        raise BadSdp(
            "the only m= section must be 'application <port> UDP/DTLS/SCTP "
            "webrtc-datachannel' (no audio or video)"
        )
    if int(match.group(1)) > 65535:
        raise BadSdp("m= port out of range")
    media_counts: dict[str, int] = {}
    for line in media[1:]:
        _check_media_line(line, media_counts, state)

    if media_counts.get("mid", 0) != 1:
        raise BadSdp("the m= section needs exactly one a=mid")
    if media_counts.get("sctp-port", 0) != 1:
        raise BadSdp("the m= section needs exactly one a=sctp-port")
    if state.bundle is not None and state.bundle != state.mid:
        raise BadSdp("a=group:BUNDLE must name the one m= section")
    for name, value in (
        ("ice-ufrag", state.ufrag),
        ("ice-pwd", state.pwd),
        ("setup", state.setup),
    ):
        if value is None:
            raise BadSdp(f"a={name} is missing")
    if state.fingerprint is None:
        raise BadSdp("a=fingerprint is missing")
    assert state.setup is not None
    return SdpInfo(
        fingerprint=state.fingerprint,
        setup=state.setup,
        max_message_size=state.max_message_size,
        candidate_types=tuple(state.candidate_types),
    )


@dataclass
class _Collected:
    """Values seen so far; attributes allowed at both levels may still appear only once."""

    ufrag: str | None = None
    pwd: str | None = None
    setup: str | None = None
    fingerprint: bytes | None = None
    mid: str | None = None
    bundle: str | None = None
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    candidate_types: list[str] = field(default_factory=list)


def _split_lines(sdp: bytes) -> list[str]:
    if type(sdp) is not bytes:
        raise BadSdp("SDP must be bytes")
    if not sdp:
        raise BadSdp("empty SDP")
    if len(sdp) > MAX_SDP:
        raise BadSdp(f"SDP of {len(sdp)} bytes exceeds {MAX_SDP}")
    try:
        text = sdp.decode("ascii")
    except UnicodeDecodeError:
        raise BadSdp("SDP is not ASCII") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final line ending
    if not lines:
        raise BadSdp("empty SDP")
    out = []
    for raw in lines:
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.isprintable() or len(line) < 2 or line[1] != "=" or not line[0].islower():
            raise BadSdp("a line is empty, malformed or holds control characters")
        out.append(line)
    return out


def _check_session_line(line: str, counts: dict[str, int], state: _Collected) -> None:
    key, value = line[0], line[2:]
    counts[key] = counts.get(key, 0) + 1
    if key == "o":
        _check_origin(value)
    elif key == "s":
        pass  # free text (aiortc: "-"), printable ASCII already checked
    elif key == "t":
        parts = value.split(" ")
        if len(parts) != 2 or not all(_DIGITS.fullmatch(p) for p in parts):
            raise BadSdp("t= must be two integers")
    elif key == "c":
        _check_connection(value)
        if counts[key] > 1:
            raise BadSdp("more than one session c= line")
    elif key == "a":
        name, attr_value = _split_attr(value)
        if name not in _SESSION_ATTRS:
            raise BadSdp("an attribute not allowed at session level")
        counts["a=" + name] = counts.get("a=" + name, 0) + 1
        if name == "group":
            parts = (attr_value or "").split(" ")
            if counts["a=group"] > 1 or len(parts) != 2 or parts[0] != "BUNDLE":
                raise BadSdp("a=group must be a single 'BUNDLE <mid>'")
            state.bundle = parts[1]
        elif name == "msid-semantic":
            parts = (attr_value or "").split(" ")
            if counts["a=msid-semantic"] > 1 or not all(
                p == "*" or _TOKEN.fullmatch(p) for p in parts
            ):
                raise BadSdp("malformed a=msid-semantic")
        else:
            _check_shared_attr(name, attr_value, state)
    else:
        raise BadSdp(f"line type {key}= is not allowed")


def _check_media_line(line: str, counts: dict[str, int], state: _Collected) -> None:
    key, value = line[0], line[2:]
    if key == "c":
        counts["c"] = counts.get("c", 0) + 1
        if counts["c"] > 1:
            raise BadSdp("more than one media c= line")
        _check_connection(value)
        return
    if key != "a":
        raise BadSdp(f"line type {key}= is not allowed in the m= section")
    name, attr_value = _split_attr(value)
    if name not in _MEDIA_ATTRS:
        raise BadSdp("an attribute not allowed in the m= section")
    counts[name] = counts.get(name, 0) + 1
    if name == "candidate":
        if len(state.candidate_types) >= MAX_CANDIDATES:
            raise BadSdp(f"more than {MAX_CANDIDATES} candidates")
        state.candidate_types.append(_check_candidate(attr_value))
        return
    if name == "end-of-candidates":
        if attr_value is not None or counts[name] > 1:
            raise BadSdp("malformed a=end-of-candidates")
        return
    if name in ("mid", "sctp-port", "max-message-size") and counts[name] > 1:
        raise BadSdp(f"more than one a={name}")
    if name == "mid":
        if attr_value is None or not _TOKEN.fullmatch(attr_value):
            raise BadSdp("malformed a=mid")
        state.mid = attr_value
    elif name == "sctp-port":
        _port(attr_value, "a=sctp-port", allow_zero=False)
    elif name == "max-message-size":
        size = _integer(attr_value, "a=max-message-size", MAX_MESSAGE_SIZE_LIMIT)
        if 0 < size < MIN_MAX_MESSAGE_SIZE:
            raise BadSdp(f"a=max-message-size below {MIN_MAX_MESSAGE_SIZE}")
        state.max_message_size = size
    else:
        _check_shared_attr(name, attr_value, state)


def _check_shared_attr(name: str, value: str | None, state: _Collected) -> None:
    """ICE credentials, fingerprint and setup: allowed at either level, once in total."""
    if name == "fingerprint":
        if state.fingerprint is not None:
            raise BadSdp("more than one a=fingerprint")
        parts = (value or "").split(" ")
        if len(parts) != 2:
            raise BadSdp("malformed a=fingerprint")
        if parts[0].lower() != "sha-256":
            raise BadSdp("a=fingerprint must use sha-256")
        if not _HEX_FINGERPRINT.fullmatch(parts[1]):
            raise BadSdp("malformed sha-256 fingerprint")
        state.fingerprint = bytes.fromhex(parts[1].replace(":", ""))
    elif name == "ice-ufrag":
        if state.ufrag is not None:
            raise BadSdp("more than one a=ice-ufrag")
        if value is None or not _ICE_UFRAG.fullmatch(value):
            raise BadSdp("a=ice-ufrag must be 4-256 ice-chars")
        state.ufrag = value
    elif name == "ice-pwd":
        if state.pwd is not None:
            raise BadSdp("more than one a=ice-pwd")
        if value is None or not _ICE_PWD.fullmatch(value):
            raise BadSdp("a=ice-pwd must be 22-256 ice-chars")
        state.pwd = value
    elif name == "setup":
        if state.setup is not None:
            raise BadSdp("more than one a=setup")
        if value not in _SETUP_VALUES:
            raise BadSdp("a=setup must be actpass, active or passive")
        state.setup = value


def _check_candidate(value: str | None) -> str:
    """One ``a=candidate`` (RFC 8839 §5.1); returns its type. Only UDP, only IP literals."""
    parts = (value or "").split(" ")
    if len(parts) < 8 or parts[6] != "typ":
        raise BadSdp("malformed a=candidate")
    foundation, component, transport, priority, address, port, _, typ = parts[:8]
    if not _FOUNDATION.fullmatch(foundation):
        raise BadSdp("malformed candidate foundation")
    if component != "1":
        raise BadSdp("candidate component must be 1 (one data channel, rtcp-mux)")
    if transport.lower() != "udp":
        raise BadSdp("only UDP candidates are allowed")
    _integer(priority, "candidate priority", 2**32 - 1)
    ip = _ip_literal(address, "candidate address")
    if ip.is_unspecified or ip.is_multicast:
        raise BadSdp("candidate address is unspecified or multicast")
    _port(port, "candidate port", allow_zero=False)
    if typ not in _CANDIDATE_TYPES:
        raise BadSdp("unknown candidate type")
    extensions = parts[8:]
    if len(extensions) % 2:
        raise BadSdp("malformed candidate extensions")
    seen: set[str] = set()
    for name, ext_value in zip(extensions[::2], extensions[1::2], strict=True):
        if name in seen:
            raise BadSdp("repeated candidate extension")
        seen.add(name)
        if name == "raddr":
            _ip_literal(ext_value, "candidate raddr")
        elif name == "rport":
            _port(ext_value, "candidate rport", allow_zero=True)
        elif name == "generation":
            _integer(ext_value, "candidate generation", 2**32 - 1)
        elif name == "tcptype":
            raise BadSdp("TCP candidates are not allowed")
        else:
            raise BadSdp("unknown candidate extension")
    return typ


def _check_origin(value: str) -> None:
    parts = value.split(" ")
    if len(parts) != 6:
        raise BadSdp("o= needs six fields")
    username, session_id, version, nettype, addrtype, address = parts
    if not (username == "-" or _TOKEN.fullmatch(username)):
        raise BadSdp("malformed o= username")
    if not (_DIGITS.fullmatch(session_id) and _DIGITS.fullmatch(version)):
        raise BadSdp("o= session id and version must be integers")
    _check_address(nettype, addrtype, address, "o=")


def _check_connection(value: str) -> None:
    parts = value.split(" ")
    if len(parts) != 3:
        raise BadSdp("malformed c= line")
    _check_address(*parts, "c=")


def _check_address(nettype: str, addrtype: str, address: str, where: str) -> None:
    if nettype != "IN" or addrtype not in ("IP4", "IP6"):
        raise BadSdp(f"{where} must be 'IN IP4' or 'IN IP6'")
    ip = _ip_literal(address, f"{where} address")
    if ip.version != int(addrtype[2]):
        raise BadSdp(f"{where} address does not match its type")


def _ip_literal(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4/IPv6 literal; a hostname (or ``.local`` mDNS name) would need a DNS lookup."""
    if "%" in text:  # an IPv6 zone names one of *our* interfaces
        raise BadSdp(f"{what} has an IPv6 zone")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        if text.lower().endswith(".local"):
            raise BadSdp(f"{what} is an mDNS name, not an IP literal") from None
        raise BadSdp(f"{what} is not an IP literal") from None


def _split_attr(value: str) -> tuple[str, str | None]:
    name, sep, attr_value = value.partition(":")
    if not _TOKEN.fullmatch(name):
        raise BadSdp("malformed attribute name")
    return name, attr_value if sep else None


def _integer(text: str | None, what: str, maximum: int) -> int:
    if text is None or not _DIGITS.fullmatch(text) or int(text) > maximum:
        raise BadSdp(f"{what} must be an integer up to {maximum}")
    return int(text)


def _port(text: str | None, what: str, *, allow_zero: bool) -> int:
    port = _integer(text, what, 65535)
    if port == 0 and not allow_zero:
        raise BadSdp(f"{what} must not be 0")
    return port


# --- our own SDP ----------------------------------------------------------------------------


def keep_sha256_fingerprint(sdp: str) -> str:
    """Drop every ``a=fingerprint`` line but the sha-256 one from *our* SDP before sending.

    aiortc lists sha-256, sha-384 and sha-512 fingerprints of its certificate and verifies
    every supported one the peer lists; Libra's rule is exactly one, sha-256.
    """
    kept = [
        line
        for line in sdp.split("\r\n")
        if not line.startswith("a=fingerprint:")
        or line[len("a=fingerprint:") :].lower().startswith("sha-256 ")
    ]
    return "\r\n".join(kept)


# --- channel binding ------------------------------------------------------------------------


def binding_mac(bind_key: bytes, role: str, offer_fp: bytes, answer_fp: bytes) -> bytes:
    """HMAC-SHA256 proving that the sender of the first data-channel message holds the
    link's ``bind_key`` and saw the same two DTLS fingerprints (direct-channel.md §3).

    ``role`` is the sender's: "offerer" or "answerer", so one side's MAC is never valid as
    the other's. Arguments of the wrong shape are a caller bug (ValueError).
    """
    if type(bind_key) is not bytes or len(bind_key) != BIND_KEY_LEN:
        raise ValueError(f"bind_key must be {BIND_KEY_LEN} bytes")
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    _check_fingerprints(offer_fp, answer_fp)
    message = BINDING_LABEL + b"\x00" + role.encode("ascii") + b"\x00" + offer_fp + answer_fp
    return hmac.new(bind_key, message, hashlib.sha256).digest()


def binding_context(offer_fp: bytes, answer_fp: bytes) -> bytes:
    """The Link handshake context on a direct channel: ties the Noise prologue to both
    DTLS certificates, so the handshake cannot be relayed into another channel."""
    _check_fingerprints(offer_fp, answer_fp)
    return CONTEXT_PREFIX + offer_fp + answer_fp


def _check_fingerprints(offer_fp: bytes, answer_fp: bytes) -> None:
    for fp in (offer_fp, answer_fp):
        if type(fp) is not bytes or len(fp) != FINGERPRINT_LEN:
            raise ValueError(f"fingerprints must be {FINGERPRINT_LEN} bytes")
