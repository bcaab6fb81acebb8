"""libra: invite URIs: round trips, canonical form, and every way a link can be wrong."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libra_gui.core.errors import ProtocolError, VersionMismatch
from libra_gui.core.protocol.uri import (
    MAX_COUNTER,
    MAX_EXPIRES,
    MAX_URI_LEN,
    Invite,
    InviteError,
    InviteVersionError,
    is_invite_uri,
    parse_invite,
)

FP = bytes(range(32))
AUTH = bytes(range(100, 132))
FP32 = base64.b32encode(FP).decode().rstrip("=")
AUTH32 = base64.b32encode(AUTH).decode().rstrip("=")
BASE = f"LIBRA:V1/AMBER-FALCON-RIVER/FP:{FP32}/C:0"
QR_ALNUM = re.compile(r"[0-9A-Z $%*+\-./:]*")

words = st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9)
invites = st.builds(
    Invite,
    words=st.tuples(words, words, words),
    fingerprint=st.binary(min_size=32, max_size=32),
    counter=st.integers(0, MAX_COUNTER),
    credential=st.none() | st.binary(min_size=32, max_size=32),
    expires=st.none() | st.integers(0, MAX_EXPIRES),
    one_time=st.booleans(),
)


def full_invite() -> Invite:
    return Invite(("amber", "falcon", "river"), FP, 7, AUTH, 1_767_225_600, True)


# --- round trips ----------------------------------------------------------------------------


@given(invites)
def test_round_trip_all_fields(invite):
    uri = invite.to_uri()
    assert parse_invite(uri) == invite
    assert parse_invite(invite.to_uri(lowercase=True)) == invite
    assert QR_ALNUM.fullmatch(uri), "canonical form must fit QR alphanumeric mode"
    assert len(uri) <= MAX_URI_LEN


@given(invites, st.randoms(use_true_random=False))
def test_field_order_and_case_do_not_matter(invite, rnd):
    parts = invite.to_uri().split("/")
    head, rest = parts[:2], parts[2:]
    rnd.shuffle(rest)
    mixed = "".join(c.lower() if rnd.random() < 0.5 else c for c in "/".join(head + rest))
    assert parse_invite(mixed) == invite


def test_canonical_form_is_exact():
    assert full_invite().to_uri() == (
        f"LIBRA:V1/AMBER-FALCON-RIVER/FP:{FP32}/C:7/AUTH:{AUTH32}/EXP:1767225600/ONCE"
    )
    assert Invite(("amber", "falcon", "river"), FP).to_uri() == BASE


def test_longest_v1_invite_is_well_under_the_limit():
    longest = Invite(("abcdefghi",) * 3, FP, MAX_COUNTER, AUTH, MAX_EXPIRES, True).to_uri()
    assert len(longest) < 200 < MAX_URI_LEN


def test_surrounding_whitespace_is_ignored():
    assert parse_invite(f"  {BASE}\n") == parse_invite(BASE)


def test_properties_and_expiry_is_parsed_but_reported():
    invite = parse_invite(f"{BASE}/EXP:1000")  # long past: still parses
    assert invite.expires == 1000
    assert invite.is_expired(1000) and invite.is_expired(5000)
    assert not invite.is_expired(999)
    assert not parse_invite(BASE).is_expired(10**12)
    assert invite.alias == "amber-falcon-river"
    assert not invite.private and full_invite().private


def test_credential_is_not_in_repr():
    text = repr(full_invite())
    assert "credential" not in text and AUTH.hex() not in text and repr(AUTH) not in text


def test_is_invite_uri():
    assert is_invite_uri(" libra:anything")
    assert not is_invite_uri("https://example.org")
    assert not is_invite_uri("")


def test_extension_fields_are_skipped():
    assert parse_invite(f"{BASE}/X-HINT:ABC.12:3/X-FLAG") == parse_invite(BASE)


def test_examples_in_the_spec_parse():
    doc = Path(__file__).resolve().parents[1] / "docs" / "protocol" / "uri.md"
    examples = re.findall(r"^(LIBRA:V1/\S+)$", doc.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(examples) == 2
    private, public = map(parse_invite, examples)
    assert private.to_uri() == examples[0] and public.to_uri() == examples[1]
    assert private.one_time and private.expires == 1_767_225_600 and private.credential
    assert public.credential is None and public.alias == "quiet-maple-harbor"


# --- malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must start with 'libra:'"),
        ("https://example.org/", "must start with 'libra:'"),
        ("libre:v1/amber-falcon-river", "must start with 'libra:'"),
        ("amber-falcon-river", "must start with 'libra:'"),
        ("libra:", "no valid format version"),
        ("libra:amber-falcon-river", "no valid format version"),
        ("libra:v01/amber-falcon-river", "no valid format version"),
        ("libra://v1/amber-falcon-river", "no valid format version"),
        ("libra:v1", "no alias"),
        ("libra:v1/", "no alias"),
        (BASE.replace("AMBER-FALCON-RIVER", "AMBER-FALCON"), "three words"),
        (BASE.replace("AMBER-FALCON-RIVER", "AMBER FALCON RIVER"), "three words"),
        (BASE.replace("AMBER-FALCON-RIVER", "AMBER-FALCON-RIVER-SEA"), "three words"),
        (BASE.replace("AMBER", "AM"), "3 to 9 letters"),
        (BASE.replace("AMBER", "AMBERAMBER"), "3 to 9 letters"),
        (BASE.replace("AMBER", "AMB3R"), "3 to 9 letters"),
        (BASE.replace("AMBER-", "-"), "3 to 9 letters"),
        (BASE.replace(f"/FP:{FP32}", ""), "no identity fingerprint"),
        (BASE.replace("/C:0", ""), "no alias counter"),
        (BASE.replace(FP32, FP32[:-1]), "52 base32"),
        (BASE.replace(FP32, FP32 + "A"), "52 base32"),
        (BASE.replace(FP32, FP.hex()), "52 base32"),  # hex is not accepted: one encoding
        (BASE.replace(FP32, FP32[:-1] + "1"), "52 base32"),  # 1 is not base32
        (BASE.replace(FP32, FP32[:-1] + "B"), "not canonical"),  # unused bits set
        (BASE.replace(FP32, FP32[:10] + "=" + FP32[11:]), "52 base32"),
        (BASE.replace("C:0", "C:01"), "leading zeros"),
        (BASE.replace("C:0", "C:-1"), "decimal number"),
        (BASE.replace("C:0", "C:+1"), "decimal number"),
        (BASE.replace("C:0", f"C:{MAX_COUNTER + 1}"), "out of range"),
        (BASE.replace("C:0", "C:"), "has no value"),
        (BASE.replace("C:0", "C"), "has no value"),
        (f"{BASE}/EXP:{MAX_EXPIRES + 1}", "out of range"),
        (f"{BASE}/EXP:1.5", "decimal number"),
        (f"{BASE}/EXP:", "has no value"),
        (f"{BASE}/AUTH:{AUTH32[:-2]}", "52 base32"),
        (f"{BASE}/AUTH:{base64.urlsafe_b64encode(AUTH).decode()}", "52 base32"),
        (f"{BASE}/ONCE:1", "takes no value"),
        (f"{BASE}/C:1", "appears more than once"),
        (f"{BASE}/ONCE/ONCE", "appears more than once"),
        (f"{BASE}/AUTH:{AUTH32}/auth:{AUTH32}", "appears more than once"),
        (f"{BASE}/X-A:1/X-A:2", "appears more than once"),
        (f"{BASE}/", "empty field"),
        (f"{BASE}//ONCE", "empty field"),
        (f"{BASE}/NAME:BOB", "does not know (NAME)"),
        (f"{BASE}/1X:2", "invalid name"),
        (f"{BASE}/:2", "invalid name"),
        (f"{BASE}/X-HINT:A?B", "invalid value"),
        (f"{BASE}?once=1", "decimal number"),
        (f"{BASE}/ONCE?X=1", "invalid name"),
        (f"{BASE}/ONCE" + "/X-A" * 20, "too many fields"),
        (BASE + "/X-P:" + "A" * MAX_URI_LEN, "too long"),
        (BASE.replace("AMBER", "AMBER\u0131"), "not plain ASCII"),  # dotless i upper() -> I
        (BASE.replace("RIVER", "RIVE\u017f"), "not plain ASCII"),  # long s upper() -> S
        (BASE + "/ONCE\x00", "invalid name"),
        (BASE + "/ON\nCE", "invalid name"),
        (BASE + "\t/ONCE", "decimal number"),
    ],
)
def test_malformed_invites_are_refused(text, message):
    with pytest.raises(InviteError, match=re.escape(message)):
        parse_invite(text)


ALPHABET = "LIBRAV1/:-FPCAUTHEXPONCX ?=&%.0123456789abcz\u0131\u017f\x00\n"


@given(st.text(alphabet=ALPHABET, max_size=80) | st.text(max_size=80))
def test_arbitrary_text_only_raises_invite_error(text):
    try:
        invite = parse_invite(text)
    except InviteError:
        return
    assert parse_invite(invite.to_uri()) == invite


@given(invites, st.lists(st.tuples(st.integers(0, 300), st.sampled_from(ALPHABET)), max_size=4))
def test_mutated_invites_parse_or_raise_invite_error(invite, edits):
    text = invite.to_uri()
    for position, char in edits:
        i = position % (len(text) + 1)
        text = text[:i] + char + text[i + 1 :]
    try:
        parsed = parse_invite(text)
    except InviteError:
        return
    assert parse_invite(parsed.to_uri()) == parsed


def test_invite_error_is_a_protocol_error():
    assert issubclass(InviteError, ProtocolError)


@pytest.mark.parametrize("version", ["V2", "v9999", "V10"])
def test_newer_version_says_update(version):
    text = BASE.replace("V1", version) + "/WHATEVER:?&="  # the rest is not even looked at
    with pytest.raises(InviteVersionError, match="update Libra") as info:
        parse_invite(text)
    assert isinstance(info.value, VersionMismatch)


def test_errors_never_echo_the_secret():
    bad = AUTH32[:-1] + "B"  # non-canonical
    with pytest.raises(InviteError) as info:
        parse_invite(f"{BASE}/AUTH:{bad}")
    assert bad not in str(info.value) and AUTH32[:20] not in str(info.value)


def test_not_text_is_refused():
    with pytest.raises(InviteError):
        parse_invite(b"libra:v1/amber-falcon-river")  # type: ignore[arg-type]


# --- constructing an Invite -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"words": ("amber", "falcon")},
        {"words": ["amber", "falcon", "river"]},
        {"words": ("Amber", "falcon", "river")},
        {"words": ("amber", "falcon", "ri-er")},
        {"fingerprint": FP[:31]},
        {"fingerprint": bytearray(FP)},
        {"counter": -1},
        {"counter": MAX_COUNTER + 1},
        {"counter": True},
        {"credential": AUTH + b"x"},
        {"expires": -5},
        {"expires": 1.5},
        {"one_time": 1},
    ],
)
def test_invalid_invite_fields_are_refused(kwargs):
    fields = {"words": ("amber", "falcon", "river"), "fingerprint": FP} | kwargs
    with pytest.raises(InviteError):
        Invite(**fields)
