"""libra: invite URIs: round trips, canonical form, and every way a link can be wrong."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libra_gui.core.crypto.alias import wordlist
from libra_gui.core.crypto.onion import ONION_VERSION, onion_address, onion_address_from_seed
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
BASE = f"LIBRA:V1/AMBER-FALCON-RAVEN/FP:{FP32}/C:0"
QR_ALNUM = re.compile(r"[0-9A-Z $%*+\-./:]*")

ONION = onion_address_from_seed(bytes(range(64, 96)))  # canonical: 56 lower-case characters
ONION_UP = ONION.upper()
# Same length and alphabet as a real address, but wrong: another key under ONION's checksum,
# a version byte other than 3, and a valid checksum around a small-order (torsion) point.
ONION_BAD_SUM = ("B" if ONION_UP[0] != "B" else "C") + ONION_UP[1:]
_ONION_RAW = base64.b32decode(ONION_UP)
ONION_BAD_VERSION = base64.b32encode(_ONION_RAW[:34] + bytes([ONION_VERSION + 1])).decode()
ONION_BAD_POINT = onion_address(bytes([1]) + bytes(31)).upper()

HYPHENATED = tuple(w for w in wordlist() if "-" in w)  # drop-down, felt-tip, t-shirt, yo-yo

words = st.sampled_from(wordlist())
invites = st.builds(
    Invite,
    words=st.tuples(words, words, words),
    fingerprint=st.binary(min_size=32, max_size=32),
    counter=st.integers(0, MAX_COUNTER),
    credential=st.none() | st.binary(min_size=32, max_size=32),
    expires=st.none() | st.integers(0, MAX_EXPIRES),
    one_time=st.booleans(),
    onion=st.none() | st.binary(min_size=32, max_size=32).map(onion_address_from_seed),
)


def full_invite() -> Invite:
    return Invite(("amber", "falcon", "raven"), FP, 7, AUTH, 1_767_225_600, True, ONION)


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
        f"LIBRA:V1/AMBER-FALCON-RAVEN/FP:{FP32}/C:7/AUTH:{AUTH32}/EXP:1767225600"
        f"/ONION:{ONION_UP}/ONCE"
    )
    assert Invite(("amber", "falcon", "raven"), FP).to_uri() == BASE
    assert Invite(("amber", "falcon", "raven"), FP, onion=ONION).to_uri() == (
        f"{BASE}/ONION:{ONION_UP}"
    )


def test_longest_v1_invite_is_well_under_the_limit():
    longest_word = max(wordlist(), key=len)
    assert len(longest_word) == 9
    words = (longest_word,) * 3
    longest = Invite(words, FP, MAX_COUNTER, AUTH, MAX_EXPIRES, True, ONION).to_uri()
    # 8 + (1 + 29) + (1 + 55) + (1 + 12) + (1 + 57) + (1 + 17) + (1 + 62) + (1 + 4)
    assert len(longest) == 251 < MAX_URI_LEN
    assert parse_invite(longest).words == words


def test_every_list_word_is_a_valid_invite_word():
    """Invite checks word syntax only; that syntax must admit the whole list."""
    for word in wordlist():
        Invite((word, "amber", "raven"), FP)


def test_surrounding_whitespace_is_ignored():
    assert parse_invite(f"  {BASE}\n") == parse_invite(BASE)


def test_properties_and_expiry_is_parsed_but_reported():
    invite = parse_invite(f"{BASE}/EXP:1000")  # long past: still parses
    assert invite.expires == 1000
    assert invite.is_expired(1000) and invite.is_expired(5000)
    assert not invite.is_expired(999)
    assert not parse_invite(BASE).is_expired(10**12)
    assert invite.alias == "amber-falcon-raven"
    assert not invite.private and full_invite().private
    assert invite.onion is None and full_invite().onion == ONION


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
    text = doc.read_text(encoding="utf-8")
    examples = re.findall(r"^(LIBRA:V1/\S+)$", text, re.MULTILINE)
    assert len(examples) == 2
    private, public = map(parse_invite, examples)
    assert private.to_uri() == examples[0] and public.to_uri() == examples[1]
    assert private.one_time and private.expires == 1_767_225_600 and private.credential
    assert private.onion == ONION and private.alias == "amber-falcon-raven"
    assert public.credential is None and public.onion is None
    assert public.alias == "quiet-olive-harbor"
    assert f"({len(examples[0])} characters)" in text
    assert f"{len(examples[1])} characters)" in text


# --- the beacon address (ONION) -------------------------------------------------------------


def test_onion_round_trip_and_position():
    invite = full_invite()
    uri = invite.to_uri()
    assert parse_invite(uri) == invite and parse_invite(uri).onion == ONION
    fields = [part.partition(":")[0] for part in uri.split("/")[2:]]
    assert fields == ["FP", "C", "AUTH", "EXP", "ONION", "ONCE"]
    without_exp = Invite(("amber", "falcon", "raven"), FP, onion=ONION, one_time=True)
    assert without_exp.to_uri().endswith(f"/C:0/ONION:{ONION_UP}/ONCE")


@pytest.mark.parametrize(
    "spelling", [ONION, ONION_UP, ONION.capitalize(), f"{ONION}.onion", f" {ONION_UP}.ONION\n"]
)
def test_onion_is_canonical_lower_case_in_an_invite(spelling):
    invite = Invite(("amber", "falcon", "raven"), FP, onion=spelling)
    assert invite.onion == ONION
    assert invite == Invite(("amber", "falcon", "raven"), FP, onion=ONION)
    assert invite.to_uri().endswith(f"/ONION:{ONION_UP}")


@pytest.mark.parametrize("spelling", [ONION, ONION_UP, ONION[:28] + ONION_UP[28:]])
def test_onion_field_is_case_insensitive(spelling):
    invite = parse_invite(f"{BASE}/onion:{spelling}")
    assert invite.onion == ONION
    assert invite == parse_invite(f"{BASE}/ONION:{ONION_UP}")
    assert parse_invite(invite.to_uri(lowercase=True)) == invite


def test_onion_error_does_not_echo_the_address():
    with pytest.raises(InviteError) as info:
        parse_invite(f"{BASE}/ONION:{ONION_BAD_SUM}")
    assert ONION_BAD_SUM[:20] not in str(info.value).upper()


# --- hyphenated list words ------------------------------------------------------------------


def test_the_list_has_four_hyphenated_words_with_one_reading():
    """docs/protocol/uri.md relies on this: no left half is a word, so a split is unique."""
    assert HYPHENATED == ("drop-down", "felt-tip", "t-shirt", "yo-yo")
    listed = set(wordlist())
    assert not {word.partition("-")[0] for word in HYPHENATED} & listed


@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("word", HYPHENATED)
def test_hyphenated_words_round_trip(word, position):
    three = ["amber", "falcon", "raven"]
    three[position] = word
    invite = Invite(tuple(three), FP, 3, onion=ONION)
    uri = invite.to_uri()
    assert f"/{'-'.join(three).upper()}/" in uri
    assert parse_invite(uri) == invite
    assert parse_invite(invite.to_uri(lowercase=True)).words == tuple(three)


def test_all_hyphenated_words_together_and_their_lookalikes():
    for three in [("yo-yo", "t-shirt", "drop-down"), ("felt-tip", "yo-yo", "yo-yo")]:
        invite = Invite(three, FP)
        assert parse_invite(invite.to_uri()).words == three
    # "yoyo" is a list word of its own: the hyphen keeps the two apart
    assert parse_invite(BASE.replace("AMBER", "YOYO")).words == ("yoyo", "falcon", "raven")
    assert parse_invite(BASE.replace("AMBER", "YO-YO")).words == ("yo-yo", "falcon", "raven")


def test_words_outside_the_list_construct_but_do_not_parse():
    """Invite checks syntax; the word list is checked where text comes in (parse_invite)."""
    invite = Invite(("amber", "falcon", "river"), FP)
    with pytest.raises(InviteError, match='"river", is not in the word list'):
        parse_invite(invite.to_uri())


# --- malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must start with 'libra:'"),
        ("https://example.org/", "must start with 'libra:'"),
        ("libre:v1/amber-falcon-raven", "must start with 'libra:'"),
        ("amber-falcon-raven", "must start with 'libra:'"),
        ("libra:", "no valid format version"),
        ("libra:amber-falcon-raven", "no valid format version"),
        ("libra:v01/amber-falcon-raven", "no valid format version"),
        ("libra://v1/amber-falcon-raven", "no valid format version"),
        ("libra:v1", "no alias"),
        ("libra:v1/", "no alias"),
        (BASE.replace("AMBER-FALCON-RAVEN", "AMBER-FALCON"), "three words, like"),
        (BASE.replace("AMBER-FALCON-RAVEN", "AMBER-FALCON-RAVEN-SEA"), "this has 4"),
        (BASE.replace("AMBER-", "-"), "this has 2"),
        (BASE.replace("AMBER-FALCON-RAVEN", "AMBER+FALCON+RAVEN"), "this has 1"),
        (BASE.replace("AMBER", "AM"), 'word 1, "am", is not in the word list'),
        (BASE.replace("AMBER", "AMBERAMBER"), '"amberamber", is not in the word list'),
        (BASE.replace("AMBER", "AMB3R"), 'did you mean "amber"?'),
        (BASE.replace("RAVEN", "RIVER"), 'word 3, "river", is not in the word list'),
        (BASE.replace("FALCON", "FALCN"), 'word 2, "falcn", is not in the word list'),
        (BASE.replace("FALCON", "FAL"), 'did you mean "fall", "fax", "falcon"'),
        (BASE.replace("RAVEN", "R" * 300), "too long for an alias"),
        # parse_alias forgives these when typed; an invite must be written exactly
        (BASE.replace("AMBER-FALCON-RAVEN", "AMBER FALCON RAVEN"), "in full joined by '-'"),
        (BASE.replace("AMBER-FALCON-RAVEN", "AMBER.FALCON_RAVEN"), "in full joined by '-'"),
        (BASE.replace("AMBER-FALCON", "AMBER--FALCON"), "in full joined by '-'"),
        (BASE.replace("AMBER", "AMBE"), "in full joined by '-': amber-falcon-raven"),
        (BASE.replace("AMBER", "TSHIRT"), "in full joined by '-': t-shirt-falcon-raven"),
        (BASE.replace("AMBER", "T SHIRT"), "in full joined by '-': t-shirt-falcon-raven"),
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
        (f"{BASE}/ONION:{ONION_UP[:-1]}", "56 base32"),
        (f"{BASE}/ONION:{ONION_UP}A", "56 base32"),
        (f"{BASE}/ONION:{ONION_UP[:-1]}1", "56 base32"),  # 1 is not base32
        (f"{BASE}/ONION:{ONION_UP}.ONION", "56 base32"),  # the bare address only
        (f"{BASE}/ONION:{FP32}", "56 base32"),
        (f"{BASE}/ONION:{ONION_BAD_SUM}", "not a valid onion address"),
        (f"{BASE}/ONION:{ONION_BAD_VERSION}", "not a valid onion address"),
        (f"{BASE}/ONION:{ONION_BAD_POINT}", "not a valid onion address"),
        (f"{BASE}/ONION:", "has no value"),
        (f"{BASE}/ONION", "has no value"),
        (f"{BASE}/ONION:{ONION_UP}/onion:{ONION}", "appears more than once"),
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
        (BASE.replace("RAVEN", "RIVE\u017f"), "not plain ASCII"),  # long s upper() -> S
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
        parse_invite(b"libra:v1/amber-falcon-raven")  # type: ignore[arg-type]


# --- constructing an Invite -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"words": ("amber", "falcon")},
        {"words": ["amber", "falcon", "raven"]},
        {"words": ("Amber", "falcon", "raven")},
        {"words": ("amber", "falcon", "ra")},
        {"words": ("amber", "falcon", "abcdefghij")},
        {"words": ("amber", "falcon", "drop-downs")},
        {"words": ("amber", "falcon", "-raven")},
        {"words": ("amber", "falcon", "raven-")},
        {"words": ("amber", "falcon", "ra--ven")},
        {"words": ("amber", "falcon", "a-b-c")},
        {"words": ("amber", "falcon", "ra ven")},
        {"words": ("amber", "falcon", 5)},
        {"fingerprint": FP[:31]},
        {"fingerprint": bytearray(FP)},
        {"counter": -1},
        {"counter": MAX_COUNTER + 1},
        {"counter": True},
        {"credential": AUTH + b"x"},
        {"expires": -5},
        {"expires": 1.5},
        {"one_time": 1},
        {"onion": ""},
        {"onion": ONION[:-1]},
        {"onion": ONION + "a"},
        {"onion": ONION_BAD_SUM},
        {"onion": ONION_BAD_VERSION},
        {"onion": ONION_BAD_POINT},
        {"onion": f"http://{ONION}.onion"},
        {"onion": ONION.encode()},
        {"onion": 5},
    ],
)
def test_invalid_invite_fields_are_refused(kwargs):
    fields = {"words": ("amber", "falcon", "raven"), "fingerprint": FP} | kwargs
    with pytest.raises(InviteError):
        Invite(**fields)
