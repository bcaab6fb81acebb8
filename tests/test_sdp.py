"""SDP checks and the channel binding (pure): what a peer's offer/answer may contain.

aiortc's own offers and answers (as DirectAttempt sends them) are checked in test_webrtc.py;
here a captured aiortc answer is the template.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from aiortc.sdp import SessionDescription
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from libra_gui.core.errors import ProtocolError
from libra_gui.core.protocol.records import MAX_SDP
from libra_gui.core.protocol.sdp import (
    BINDING_LABEL,
    MAX_CANDIDATES,
    BadSdp,
    SdpInfo,
    binding_context,
    binding_mac,
    check_sdp,
    keep_sha256_fingerprint,
)

FP_HEX = (
    "C3:76:4E:59:8D:84:98:AC:87:7A:FD:32:85:D6:88:18:"
    "12:E8:3D:7C:C5:CB:7A:E3:B1:F9:41:FA:01:D1:C7:32"
)
FP = bytes.fromhex(FP_HEX.replace(":", ""))
HOST_CANDIDATE = (
    "a=candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 48845 typ host"
)
SHA384 = (
    "a=fingerprint:sha-384 F4:0D:43:E7:38:6B:BB:B1:F6:B8:32:0C:F2:CC:C2:F7:65:2A:FE:30:31:65:"
    "8B:7E:99:9A:B3:03:42:7D:63:10:5E:1A:84:19:1C:E0:30:FB:3D:8C:79:A0:F4:2F:20:D6"
)

ANSWER_LINES = [
    "v=0",
    "o=- 4004327038 4004327038 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=msid-semantic:WMS *",
    "m=application 48845 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 127.0.0.1",
    "a=mid:0",
    "a=sctp-port:5000",
    "a=max-message-size:262144",
    HOST_CANDIDATE,
    "a=end-of-candidates",
    "a=ice-ufrag:93bF",
    "a=ice-pwd:lAexjPdU8Ma7EgKNXDLjNv",
    f"a=fingerprint:sha-256 {FP_HEX}",
    "a=setup:active",
]


def sdp(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def replace(old_prefix: str, *new: str) -> bytes:
    """The template with the line starting ``old_prefix`` replaced by ``new`` lines."""
    index = next(i for i, line in enumerate(ANSWER_LINES) if line.startswith(old_prefix))
    return sdp([*ANSWER_LINES[:index], *new, *ANSWER_LINES[index + 1 :]])


def candidate(address: str = "127.0.0.1", tail: str = "typ host", transport: str = "udp") -> str:
    return f"a=candidate:abc 1 {transport} 2130706431 {address} 5000 {tail}"


ANSWER = sdp(ANSWER_LINES)


# --- accepted -------------------------------------------------------------------------------


def test_aiortc_answer_passes() -> None:
    info = check_sdp(ANSWER)
    assert info == SdpInfo(
        fingerprint=FP, setup="active", max_message_size=262144, candidate_types=("host",)
    )


def test_lf_line_endings_and_lowercase_fingerprint_pass() -> None:
    text = ANSWER.decode().replace("\r\n", "\n").replace(FP_HEX, FP_HEX.lower())
    assert check_sdp(text.encode()).fingerprint == FP


def test_ipv6_srflx_relay_and_session_level_attributes_pass() -> None:
    lines = [line for line in ANSWER_LINES if not line.startswith(("a=ice-", "a=fingerprint"))]
    lines[4:4] = [
        "a=ice-ufrag:93bF",
        "a=ice-pwd:lAexjPdU8Ma7EgKNXDLjNv",
        f"a=fingerprint:SHA-256 {FP_HEX}",
    ]
    index = lines.index(HOST_CANDIDATE)
    lines[index + 1 : index + 1] = [
        candidate("2001:db8::7", "typ host generation 0"),
        candidate("198.51.100.7", "typ srflx raddr 10.0.0.2 rport 40000"),
        candidate("203.0.113.9", "typ relay raddr 0.0.0.0 rport 0"),
        candidate("198.51.100.8", "typ prflx"),
    ]
    info = check_sdp(sdp(lines))
    assert info.candidate_types == ("host", "host", "srflx", "relay", "prflx")


def test_max_message_size_defaults_to_64_kib_and_zero_means_unlimited() -> None:
    assert check_sdp(replace("a=max-message-size")).max_message_size == 65536
    assert check_sdp(replace("a=max-message-size", "a=max-message-size:0")).max_message_size == 0


def test_offer_setup_is_reported() -> None:
    assert check_sdp(replace("a=setup", "a=setup:actpass")).setup == "actpass"


def test_up_to_32_candidates_pass() -> None:
    lines = [candidate(f"10.0.0.{i}") for i in range(1, MAX_CANDIDATES + 1)]
    assert len(check_sdp(replace("a=candidate", *lines)).candidate_types) == MAX_CANDIDATES


def test_no_candidates_pass() -> None:
    assert check_sdp(replace("a=candidate")).candidate_types == ()


# --- refused --------------------------------------------------------------------------------

REFUSED = {
    "second fingerprint": replace("a=fingerprint", f"a=fingerprint:sha-256 {FP_HEX}", SHA384),
    "same fingerprint twice": replace(
        "a=fingerprint", f"a=fingerprint:sha-256 {FP_HEX}", f"a=fingerprint:sha-256 {FP_HEX}"
    ),
    "sha-1 fingerprint": replace("a=fingerprint", "a=fingerprint:sha-1 " + ":".join(["AB"] * 20)),
    "sha-384 only": replace("a=fingerprint", SHA384),
    "short sha-256 fingerprint": replace(
        "a=fingerprint", "a=fingerprint:sha-256 " + ":".join(["AB"] * 20)
    ),
    "no fingerprint": replace("a=fingerprint"),
    "hostname candidate": replace("a=candidate", candidate("peer.example.com")),
    "mDNS candidate": replace(
        "a=candidate", candidate("1f4712db-ea17-4bcf-a596-105139dfd8bf.local")
    ),
    "IPv6 zone": replace("a=candidate", candidate("fe80::1%eth0")),
    "multicast candidate": replace("a=candidate", candidate("224.0.0.1")),
    "unspecified candidate": replace("a=candidate", candidate("0.0.0.0")),
    "hostname raddr": replace(
        "a=candidate", candidate("198.51.100.7", "typ srflx raddr router.lan rport 1")
    ),
    "TCP candidate": replace(
        "a=candidate", candidate(transport="tcp", tail="typ host tcptype passive")
    ),
    "tcptype on UDP": replace("a=candidate", candidate(tail="typ host tcptype active")),
    "unknown candidate type": replace("a=candidate", candidate(tail="typ magic")),
    "unknown candidate extension": replace("a=candidate", candidate(tail="typ host network-id 1")),
    "component 2": replace(
        "a=candidate", "a=candidate:abc 2 udp 2130706431 127.0.0.1 5000 typ host"
    ),
    "candidate port 0": replace(
        "a=candidate", "a=candidate:abc 1 udp 2130706431 127.0.0.1 0 typ host"
    ),
    "candidate port too big": replace(
        "a=candidate", "a=candidate:abc 1 udp 2130706431 127.0.0.1 65536 typ host"
    ),
    "short candidate": replace("a=candidate", "a=candidate:abc 1 udp 1 127.0.0.1 5000 typ"),
    "too many candidates": replace(
        "a=candidate", *[candidate(f"10.0.0.{i}") for i in range(MAX_CANDIDATES + 1)]
    ),
    "audio m-line": replace(
        "m=application", "m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 PCMU/8000"
    ),
    "second m-line": sdp([*ANSWER_LINES, "m=video 9 UDP/TLS/RTP/SAVPF 96"]),
    "legacy SCTP m-line": replace("m=application", "m=application 9 DTLS/SCTP 5000"),
    "no m-line": sdp(ANSWER_LINES[:6]),
    "no ice-ufrag": replace("a=ice-ufrag"),
    "short ice-ufrag": replace("a=ice-ufrag", "a=ice-ufrag:abc"),
    "short ice-pwd": replace("a=ice-pwd", "a=ice-pwd:tooshort"),
    "ice-ufrag twice": replace("a=ice-ufrag", "a=ice-ufrag:93bF", "a=ice-ufrag:93bF"),
    "no setup": replace("a=setup"),
    "bad setup": replace("a=setup", "a=setup:holdconn"),
    "no mid": replace("a=mid"),
    "no sctp-port": replace("a=sctp-port"),
    "tiny max-message-size": replace("a=max-message-size", "a=max-message-size:10"),
    "BUNDLE of another mid": replace("a=group", "a=group:BUNDLE 1"),
    "unknown attribute": replace("a=end-of-candidates", "a=ice-lite"),
    "rtpmap in application": replace("a=end-of-candidates", "a=rtpmap:0 PCMU/8000"),
    "hostname in c=": replace("c=", "c=IN IP4 peer.example.com"),
    "IP6 type with IPv4": replace("c=", "c=IN IP6 127.0.0.1"),
    "hostname in o=": replace("o=", "o=- 1 1 IN IP4 host.example.com"),
    "unknown line type": replace("s=", "s=-", "b=AS:30"),
    "not v=0 first": sdp(ANSWER_LINES[1:]),
    "empty line": replace("s=", "s=-", ""),
    "control character": replace("s=", "s=a\tb"),
    "bare CR inside a line": replace("s=", "s=a\rb"),
    "non-ASCII": replace("s=", "s=café"),
    "oversize": replace("s=", "s=" + "x" * MAX_SDP),
    "empty": b"",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(case: str) -> None:
    with pytest.raises(BadSdp):
        check_sdp(REFUSED[case])


def test_non_ascii_is_refused_as_such() -> None:
    with pytest.raises(BadSdp, match="ASCII"):
        check_sdp("v=0\r\ns=é\r\n".encode())


def test_str_is_refused() -> None:
    with pytest.raises(BadSdp):
        check_sdp(ANSWER.decode())  # type: ignore[arg-type]


def test_bad_sdp_is_a_protocol_error() -> None:
    assert issubclass(BadSdp, ProtocolError)


def test_error_messages_hold_no_address() -> None:
    with pytest.raises(BadSdp) as caught:
        check_sdp(REFUSED["hostname candidate"])
    assert "example" not in str(caught.value)


# --- our own SDP ----------------------------------------------------------------------------


def test_keep_sha256_fingerprint_drops_the_others() -> None:
    text = ANSWER.decode().replace(
        f"a=fingerprint:sha-256 {FP_HEX}\r\n",
        f"a=fingerprint:sha-256 {FP_HEX}\r\n{SHA384}\r\na=fingerprint:sha-512 AA\r\n",
    )
    with pytest.raises(BadSdp):
        check_sdp(text.encode())
    kept = keep_sha256_fingerprint(text)
    assert kept == ANSWER.decode()
    assert check_sdp(kept.encode()).fingerprint == FP


# --- binding --------------------------------------------------------------------------------

KEY = bytes(range(32))
FP_A = bytes([1]) * 32
FP_B = bytes([2]) * 32


def test_binding_mac_is_hmac_sha256_over_label_role_and_fingerprints() -> None:
    expected = hmac.new(
        KEY, BINDING_LABEL + b"\x00offerer\x00" + FP_A + FP_B, hashlib.sha256
    ).digest()
    assert binding_mac(KEY, "offerer", FP_A, FP_B) == expected


def test_binding_mac_separates_roles_keys_and_fingerprint_order() -> None:
    macs = {
        binding_mac(KEY, "offerer", FP_A, FP_B),
        binding_mac(KEY, "answerer", FP_A, FP_B),
        binding_mac(bytes(32), "offerer", FP_A, FP_B),
        binding_mac(KEY, "offerer", FP_B, FP_A),
    }
    assert len(macs) == 4
    assert all(len(mac) == 32 for mac in macs)


@pytest.mark.parametrize(
    ("key", "role", "offer_fp", "answer_fp"),
    [
        (bytes(31), "offerer", FP_A, FP_B),
        (KEY, "initiator", FP_A, FP_B),
        (KEY, "offerer", FP_A[:20], FP_B),
        (KEY, "offerer", FP_A, bytearray(FP_B)),
    ],
)
def test_binding_mac_rejects_bad_arguments(
    key: bytes, role: str, offer_fp: bytes, answer_fp: bytes
) -> None:
    with pytest.raises(ValueError):
        binding_mac(key, role, offer_fp, answer_fp)


def test_binding_context() -> None:
    assert binding_context(FP_A, FP_B) == b"webrtc:" + FP_A + FP_B
    with pytest.raises(ValueError):
        binding_context(FP_A, b"")


# --- fuzzing --------------------------------------------------------------------------------

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _checked(data: bytes) -> SdpInfo | None:
    """check_sdp's verdict; anything other than SdpInfo or BadSdp fails the test."""
    try:
        info = check_sdp(data)
    except BadSdp:
        return None
    # What check_sdp accepts, aiortc's parser must take without tripping.
    SessionDescription.parse(data.decode("ascii"))
    return info


@FUZZ
@given(st.binary(max_size=MAX_SDP + 16))
@example(b"v=0")
@example(b"v=0\r\nm=application")
def test_fuzz_random_bytes(data: bytes) -> None:
    _checked(data)


_sdp_char = st.characters(min_codepoint=0, max_codepoint=0x7F) | st.sampled_from("é\u2028 :./")
_line = st.text(_sdp_char, max_size=60) | st.sampled_from(
    [
        *ANSWER_LINES,
        SHA384,
        candidate("peer.example.com"),
        candidate("x.local"),
        candidate(tail="typ host tcptype passive"),
        candidate("::1"),
        "a=candidate:",
        "a=fingerprint:sha-256",
        "a=setup:",
        "a=group:BUNDLE",
        "a=mid:",
        "m=audio 9 UDP/TLS/RTP/SAVPF 0",
        "c=IN IP6 ::",
    ]
)


@FUZZ
@given(st.data())
def test_fuzz_mutated_answers(data: st.DataObject) -> None:
    """Replace, insert, delete lines and characters of a valid answer."""
    lines = list(ANSWER_LINES)
    for _ in range(data.draw(st.integers(1, 2))):
        action = data.draw(st.sampled_from(["replace", "insert", "delete", "edit"]))
        index = data.draw(st.integers(0, len(lines) - 1)) if lines else 0
        if action == "replace" and lines:
            lines[index] = data.draw(_line)
        elif action == "insert":
            lines.insert(index, data.draw(_line))
        elif action == "delete" and lines:
            del lines[index]
        elif lines:
            line = lines[index]
            pos = data.draw(st.integers(0, len(line)))
            lines[index] = line[:pos] + data.draw(st.text(_sdp_char, max_size=3)) + line[pos + 1 :]
    ending = data.draw(st.sampled_from(["\r\n", "\n"]))
    raw = ending.join(lines).encode("utf-8")
    info = _checked(raw)
    if info is not None:
        text = raw.decode("ascii")
        assert ".local" not in text.lower() and "tcp" not in text.lower()
        assert len(info.fingerprint) == 32


_field = st.sampled_from(["1", "udp", "UDP", "tcp", "typ", "host", "srflx", "raddr", "rport", "0"])


@FUZZ
@given(
    address=st.ip_addresses().map(str) | st.sampled_from(["a.local", "example.com", "1.2.3"]),
    fields=st.lists(_field | st.text("0123456789abc.:", max_size=6), max_size=12),
)
def test_fuzz_candidate_lines(address: str, fields: list[str]) -> None:
    """Candidate lines assembled from plausible pieces around any IP address."""
    line = " ".join(["a=candidate:f00", "1", "udp", "100", address, "9", *fields])
    info = _checked(replace("a=candidate", line))
    if info is not None:
        assert info.candidate_types[0] in ("host", "srflx", "prflx", "relay")
