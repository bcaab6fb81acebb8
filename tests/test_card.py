"""Signed contact cards (core/protocol/card.py): byte format, every validation rule, fuzzing.

Invalid cards are built by ``forge``, which signs whatever it is given with a correct
signature, so a rejection proves the field check itself works (not just the signature).
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata

import msgpack
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from nacl.signing import VerifyKey

from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.errors import CardError
from libra_gui.core.protocol.card import (
    MAX_CARD_BYTES,
    ContactCard,
    normalize_display_name,
    validate_onion_v3,
)

# Literal copies of the wire constants: a silent change in the module must fail these tests.
CARD_DOMAIN = b"libra/v1/contact-card"
STATIC_DOMAIN = b"libra/v1/static-key"
FP_DOMAIN = b"libra/v1/fingerprint"
FIELDS = ("v", "name", "id", "sk", "ssig", "rk", "inbox", "ck", "ts", "sig")

ALICE = IdentityKeys.from_seeds(  # RFC 8032 TEST 1 / RFC 7748 Alice
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
    bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
)
BOB = IdentityKeys.from_seeds(bytes(range(32)), bytes(range(32, 64)))
RATCHET = bytes(range(64, 96))
TS = 1_700_000_000

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def onion(pubkey: bytes, version: bytes = b"\x03", checksum: bytes | None = None) -> str:
    """rend-spec-v3 §6: base32(PUBKEY || CHECKSUM || VERSION), CHECKSUM = SHA3-256(...)[:2]."""
    if checksum is None:
        checksum = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return base64.b32encode(pubkey + checksum + version).decode("ascii").lower()


ONION = onion(BOB.identity_public)
assert ONION == "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4bqead"


def valid_fields(keys: IdentityKeys = ALICE, **over: object) -> dict[str, object]:
    f: dict[str, object] = {
        "v": 1,
        "name": "Alice",
        "id": keys.identity_public,
        "sk": keys.static_public,
        "rk": RATCHET,
        "inbox": ONION,
        "ck": None,
        "ts": TS,
    }
    f.update(over)
    if "ssig" not in f:
        sk = f["sk"]
        f["ssig"] = keys.sign(STATIC_DOMAIN, sk) if isinstance(sk, bytes) else bytes(64)
    return f


def signed_array(f: dict[str, object]) -> bytes:
    return msgpack.packb([f[k] for k in FIELDS[:-1]], use_bin_type=True)


def forge(keys: IdentityKeys = ALICE, **over: object) -> bytes:
    """Encode a card with arbitrary field values, correctly signed by ``keys``."""
    f = valid_fields(keys, **over)
    if "sig" not in f:
        f["sig"] = keys.sign(CARD_DOMAIN, signed_array(f))
    return msgpack.packb({k: f[k] for k in FIELDS}, use_bin_type=True)


def repack(data: bytes, **changes: object) -> bytes:
    """Change fields of an encoded card without re-signing it."""
    raw = msgpack.unpackb(data)
    raw.update(changes)
    return msgpack.packb(raw, use_bin_type=True)


def flip(data: bytes, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.fixture(scope="module")
def card() -> ContactCard:
    return ContactCard.create(ALICE, "Alice", RATCHET, TS, inbox=ONION)


# --- byte format (also the worked example in docs/protocol/card.md) -------------------------

SIG_HEX = (
    "4aa4e21536274064790ef9e10b2f3946c3f80505c863bf47e1305449ec0efc15"
    "96608b71386e473f61888d00281920bcc69f938556574237ade65e280f51a708"
)


def _str(s: str) -> bytes:
    b = s.encode()
    return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b


def _bin(b: bytes) -> bytes:
    return b"\xc4" + bytes([len(b)]) + b


def test_exact_bytes(card):
    """The encoding written out by hand from the spec, without msgpack."""
    id_, sk, ssig = ALICE.identity_public, ALICE.static_public, ALICE.static_signature
    ts = b"\xce" + TS.to_bytes(4, "big")
    signed = b"\x99\x01" + _str("Alice") + b"".join(map(_bin, (id_, sk, ssig, RATCHET)))
    signed += _str(ONION) + b"\xc0" + ts  # no client-auth key: nil
    VerifyKey(id_).verify(CARD_DOMAIN + signed, bytes.fromhex(SIG_HEX))
    VerifyKey(id_).verify(STATIC_DOMAIN + sk, ssig)
    expected = b"".join(
        [
            b"\x8a",
            _str("v") + b"\x01",
            _str("name") + _str("Alice"),
            _str("id") + _bin(id_),
            _str("sk") + _bin(sk),
            _str("ssig") + _bin(ssig),
            _str("rk") + _bin(RATCHET),
            _str("inbox") + _str(ONION),
            _str("ck") + b"\xc0",
            _str("ts") + ts,
            _str("sig") + _bin(bytes.fromhex(SIG_HEX)),
        ]
    )
    assert card.signature.hex() == SIG_HEX  # Ed25519 is deterministic
    assert card.encode() == expected
    assert len(expected) == 343
    assert ContactCard.decode(expected) == card


def test_round_trip(card):
    assert ContactCard.decode(card.encode()) == card
    assert ContactCard.decode(forge()) == card  # the test's own encoder agrees
    assert card.version == 1
    assert card.display_name == "Alice"
    assert card.identity_key == ALICE.identity_public
    assert card.static_key == ALICE.static_public
    assert card.static_signature == ALICE.static_signature
    assert card.ratchet_key == RATCHET
    assert card.inbox == ONION
    assert card.created == TS


def test_round_trip_without_inbox():
    card = ContactCard.create(BOB, "Bob", bytes(32), 0)
    assert card.inbox is None
    data = card.encode()
    assert msgpack.unpackb(data)["inbox"] is None
    assert ContactCard.decode(data) == card


def test_decode_accepts_any_key_order():
    f = valid_fields()
    f["sig"] = ALICE.sign(CARD_DOMAIN, signed_array(f))
    data = msgpack.packb({k: f[k] for k in reversed(FIELDS)}, use_bin_type=True)
    assert ContactCard.decode(data) == ContactCard.decode(forge())


def test_fingerprint_and_to_json(card):
    fp = hashlib.sha256(FP_DOMAIN + ALICE.identity_public).digest()
    assert card.fingerprint == fp
    j = card.to_json()
    assert j == {
        "version": 1,
        "display_name": "Alice",
        "fingerprint": fp.hex(),
        "identity_key": ALICE.identity_public.hex(),
        "static_key": ALICE.static_public.hex(),
        "ratchet_key": RATCHET.hex(),
        "inbox": ONION,
        "client_auth_key": None,
        "created": TS,
        "card": base64.b64encode(card.encode()).decode("ascii"),
    }
    assert ContactCard.decode(base64.b64decode(j["card"])) == card


# --- create -----------------------------------------------------------------------------------


def test_create_normalises_inputs():
    card = ContactCard.create(
        ALICE, "  Ze\u0301lie \t", RATCHET, TS, inbox=ONION.upper() + ".onion"
    )
    assert card.display_name == "Z\u00e9lie"
    assert card.inbox == ONION
    assert ContactCard.decode(card.encode()) == card
    assert ContactCard.create(ALICE, "A", RATCHET, TS, inbox=ONION + ".onion").inbox == ONION
    assert ContactCard.create(ALICE, "A", RATCHET, TS, inbox=ONION + ".ONION").inbox == ONION


@pytest.mark.parametrize(
    "kwargs",
    [
        {"display_name": ""},
        {"display_name": " \u3000 "},
        {"display_name": "a" * 65},
        {"display_name": "a\u202eb"},
        {"ratchet_key": bytes(31)},
        {"ratchet_key": "k" * 32},
        {"created": -1},
        {"created": 2**40},
        {"created": True},
        {"inbox": ONION[:-1]},
        {"inbox": ONION + ".com"},
        {"inbox": "www." + ONION + ".onion"},
    ],
)
def test_create_rejects(kwargs):
    args = {"display_name": "Alice", "ratchet_key": RATCHET, "created": TS, "inbox": ONION}
    args.update(kwargs)
    with pytest.raises(CardError):
        ContactCard.create(ALICE, **args)


# --- field validation on decode (each forged card is correctly signed) ------------------------


def test_forged_control_is_valid():
    assert ContactCard.decode(forge()).display_name == "Alice"


@pytest.mark.parametrize("v", [0, 2, 255, -1, True, False, "1", b"\x01", None, [1], 1.0])
def test_bad_version(v):
    with pytest.raises(CardError):
        ContactCard.decode(forge(v=v))


@pytest.mark.parametrize(
    "name",
    [
        "a" * 64,
        "\U0001f600" * 64,  # 64 code points, 256 UTF-8 bytes (str16)
        "Z\u00e9lie",
        "\u674e \u03a9 Zo\u00eb",
        "\u0645\u0631\u064a\u0645",  # Arabic: RTL letters are fine, only controls are not
        "\U0001f469\u200d\U0001f4bb",  # ZWJ emoji sequence
        "a b",
    ],
)
def test_good_names(name):
    assert ContactCard.decode(forge(name=name)).display_name == name


@pytest.mark.parametrize(
    "name",
    [
        " Alice",
        "Alice ",
        "Alice\u00a0",
        "\u3000Alice",
        "Ze\u0301lie",  # NFD
        "\u212b",  # ANGSTROM SIGN: NFC is U+00C5
        "",
        "   ",
        "a" * 65,
        "\U0001f600" * 65,
        "A\x00B",
        "A\nB",
        "A\tB",
        "A\x7fB",
        "A\x85B",
        "A\u202eB",  # RIGHT-TO-LEFT OVERRIDE
        "A\u202aB",
        "A\u202dB",
        "\u2066A",  # LEFT-TO-RIGHT ISOLATE
        "A\u2067B",
        "A\u2068B",
        "A\u2069",  # POP DIRECTIONAL ISOLATE
        "A\u2028B",  # LINE SEPARATOR
        "A\u2029B",  # PARAGRAPH SEPARATOR
        "A\ue000B",  # private use
        "A\U000f0000",  # private use plane 15
        "A\ufdd0",  # noncharacter (Cn)
        "A\U0010ffff",
        b"Alice",
        5,
        None,
        ["Alice"],
        {"n": "Alice"},
    ],
)
def test_bad_names(name):
    with pytest.raises(CardError):
        ContactCard.decode(forge(name=name))


@pytest.mark.parametrize("name", ["a" * 65, "", "\u202e", "a\u2028b", "a\x1bb", 5, b"a"])
def test_normalize_display_name_rejects(name):
    with pytest.raises(CardError):
        normalize_display_name(name)


def test_normalize_display_name_boundary():
    assert normalize_display_name(" " + "a" * 64 + " ") == "a" * 64
    assert normalize_display_name("e\u0301" * 64) == "\u00e9" * 64  # counted after NFC


KEY_FIELDS = [("id", 32), ("sk", 32), ("rk", 32), ("ssig", 64), ("sig", 64)]


@pytest.mark.parametrize("field, length", KEY_FIELDS)
@pytest.mark.parametrize(
    "make",
    [
        lambda n: b"",
        lambda n: bytes(n - 1),
        lambda n: bytes(n + 1),
        lambda n: bytes(2 * n),
        lambda n: "k" * n,  # str where bytes are expected
        lambda n: None,
        lambda n: 0,
        lambda n: True,
        lambda n: list(range(n)),
    ],
)
def test_bad_key_fields(field, length, make):
    with pytest.raises(CardError):
        ContactCard.decode(forge(**{field: make(length)}))


@pytest.mark.parametrize("field, length", KEY_FIELDS)
def test_bytes_fields_reject_str_even_with_valid_signature(field, length):
    """The right bytes as a str (msgpack str, not bin) are refused, even though signed."""
    text = msgpack.unpackb(forge())[field].decode("latin-1")
    with pytest.raises(CardError, match="bytes"):
        ContactCard.decode(forge(**{field: text}))


@pytest.mark.parametrize("ts", [0, 1, 2**32, 2**40 - 1])
def test_good_timestamps(ts):
    assert ContactCard.decode(forge(ts=ts)).created == ts


@pytest.mark.parametrize(
    "ts", [-1, -(2**63), 2**40, 2**63, 2**64 - 1, True, False, 1.5, 1e9, "1700000000", None, [1]]
)
def test_bad_timestamps(ts):
    with pytest.raises(CardError):
        ContactCard.decode(forge(ts=ts))


# --- inbox (v3 onion address) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad",  # real services: independent
        "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid",  # check of the checksum rule
        ONION,
    ],
)
def test_valid_onions(address):
    assert validate_onion_v3(address) == address
    assert validate_onion_v3(address + ".onion") == address
    assert validate_onion_v3(address.upper()) == address
    assert ContactCard.decode(forge(inbox=address)).inbox == address


PK = BOB.identity_public
_GOOD_CHECKSUM = hashlib.sha3_256(b".onion checksum" + PK + b"\x03").digest()[:2]
BAD_ONIONS = [
    onion(PK, checksum=bytes(a ^ b for a, b in zip(_GOOD_CHECKSUM, b"\x00\x01", strict=True))),
    onion(PK, checksum=_GOOD_CHECKSUM[::-1]),
    onion(PK, version=b"\x04"),  # checksum computed for version 4: only the version is wrong
    onion(PK, version=b"\x02"),
    onion(PK, version=b"\x00"),
    onion(PK, version=b"\x03", checksum=hashlib.sha3_256(b".onion checksum" + PK).digest()[:2]),
    onion(flip(PK, 3), checksum=_GOOD_CHECKSUM),  # key changed, checksum kept
    ONION[:-1],
    ONION + "a",
    ONION[:-8],
    ONION + ONION,
    "",
    ".onion",
    ONION[:-1] + "1",  # not base32
    ONION[:-1] + "0",
    ONION[:-1] + "=",
    ONION[:-6] + "======",
    ONION[:20] + "\u00e9" + ONION[21:],
    ONION[:20] + " " + ONION[21:],
    onion(bytes(32)),  # checksum fine, but not a valid Ed25519 point: tor refuses it too
    onion(b"\xff" * 32),
]


@pytest.mark.parametrize("address", BAD_ONIONS)
def test_invalid_onions(address):
    with pytest.raises(CardError):
        validate_onion_v3(address)
    with pytest.raises(CardError):
        ContactCard.decode(forge(inbox=address))
    with pytest.raises(CardError):
        ContactCard.create(ALICE, "Alice", RATCHET, TS, inbox=address)


@pytest.mark.parametrize(
    "inbox",
    [
        ONION.upper(),
        ONION[:10].upper() + ONION[10:],
        ONION + ".onion",
        ONION + ".ONION",
        " " + ONION,
        ONION.encode(),
        5,
        True,
        [ONION],
    ],
)
def test_non_canonical_or_mistyped_inbox_rejected_on_decode(inbox):
    with pytest.raises(CardError):
        ContactCard.decode(forge(inbox=inbox))


# --- structure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", FIELDS)
def test_missing_field(missing):
    raw = msgpack.unpackb(forge())
    del raw[missing]
    with pytest.raises(CardError, match="fields"):
        ContactCard.decode(msgpack.packb(raw, use_bin_type=True))


@pytest.mark.parametrize(
    "extra", [{"x": 1}, {"note": "hi"}, {"V": 1}, {"inbox2": None}, {b"v": 1}, {"": b""}]
)
def test_extra_field(extra):
    raw = msgpack.unpackb(forge())
    raw.update(extra)
    with pytest.raises(CardError):
        ContactCard.decode(msgpack.packb(raw, use_bin_type=True))


def test_bytes_keys_instead_of_str():
    raw = msgpack.unpackb(forge())
    data = msgpack.packb({k.encode(): v for k, v in raw.items()}, use_bin_type=True)
    with pytest.raises(CardError):
        ContactCard.decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc0",
        b"\x80",
        b"\x90",
        msgpack.packb(1),
        msgpack.packb("card"),
        msgpack.packb({1: 2}),
        msgpack.packb({"v": {"v": {"v": 1}}}),  # too deep
        lambda: msgpack.packb([msgpack.unpackb(forge())[k] for k in FIELDS], use_bin_type=True),
        lambda: forge()[:-1],  # truncated
        lambda: forge() + b"\x00",  # trailing data
        lambda: forge() + forge(),
    ],
)
def test_not_a_card(data):
    if callable(data):
        data = data()
    with pytest.raises(CardError):
        ContactCard.decode(data)


def test_duplicate_keys_rejected():
    """Decoders disagree on which duplicate wins, so none is allowed (as in wire.md)."""
    good = forge()
    assert good[0] == 0x8A
    for key, shadow in (("name", "Mallory"), ("name", "Alice"), ("ts", 0), ("inbox", None)):
        dup = b"\x8b" + msgpack.packb(key) + msgpack.packb(shadow) + good[1:]
        assert msgpack.unpackb(dup) == msgpack.unpackb(good)  # msgpack keeps the last value
        with pytest.raises(CardError):
            ContactCard.decode(dup)
    with pytest.raises(CardError):  # map16 header for 10 entries: non-canonical map header
        ContactCard.decode(b"\xde\x00\x0a" + good[1:])


def test_max_card_bytes():
    good = forge()
    assert MAX_CARD_BYTES == 1024
    with pytest.raises(CardError, match="exceeds"):
        ContactCard.decode(good + bytes(MAX_CARD_BYTES + 1 - len(good)))
    # a map with 16 entries (duplicate names) is a card under last-wins decoding, >1024 bytes
    filler = b"".join(msgpack.packb("name") + msgpack.packb("n" * 200) for _ in range(7))
    big = bytes([0x80 | 16]) + filler + good[1:]
    assert len(big) > MAX_CARD_BYTES
    with pytest.raises(CardError):
        ContactCard.decode(big)


def test_largest_legal_card_fits():
    """Every valid card (64 x 4-byte name, longest timestamp, inbox, ck) is below the cap."""
    card = ContactCard.create(
        ALICE, "\U0001f600" * 64, RATCHET, 2**40 - 1, inbox=ONION, client_auth_key=RATCHET
    )
    assert len(card.encode()) == 633 < MAX_CARD_BYTES  # the figure in docs/protocol/card.md
    assert ContactCard.decode(card.encode()) == card


# --- signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Mallory"},
        {"name": "Alicf"},
        {"id": BOB.identity_public},
        {"sk": BOB.static_public},
        {"sk": BOB.static_public, "ssig": BOB.static_signature},
        {"ssig": flip(ALICE.static_signature, 5)},
        {"ssig": flip(ALICE.static_signature, 511)},
        {"rk": bytes(32)},
        {"rk": flip(RATCHET, 255)},
        {"inbox": None},
        {"inbox": onion(ALICE.identity_public)},
        {"ts": TS + 1},
        {"ts": 0},
        {"sig": flip(bytes.fromhex(SIG_HEX), 0)},
        {"sig": flip(bytes.fromhex(SIG_HEX), 300)},
        {"sig": bytes(64)},
        {"sig": BOB.sign(CARD_DOMAIN, signed_array(valid_fields()))},
    ],
)
def test_modified_field_breaks_signature(card, changes):
    data = repack(card.encode(), **changes)
    assert ContactCard.decode(repack(card.encode())) == card  # repack alone changes nothing
    with pytest.raises(CardError, match="signature"):
        ContactCard.decode(data)


def test_static_key_signed_by_another_identity():
    """Card correctly signed by Alice, but the static key is vouched for by Bob."""
    with pytest.raises(CardError, match="signature"):
        ContactCard.decode(forge(ssig=BOB.sign(STATIC_DOMAIN, ALICE.static_public)))
    with pytest.raises(CardError, match="signature"):  # Mallory's static key in Alice's card
        ContactCard.decode(forge(sk=BOB.static_public, ssig=BOB.static_signature))
    with pytest.raises(CardError, match="signature"):  # right signer, card domain
        ContactCard.decode(forge(ssig=ALICE.sign(CARD_DOMAIN, ALICE.static_public)))


def test_card_signature_needs_right_signer_domain_and_bytes():
    f = valid_fields()
    arr = signed_array(f)
    bad_sigs = [
        BOB.sign(CARD_DOMAIN, arr),  # another identity
        ALICE.sign(STATIC_DOMAIN, arr),  # wrong domain
        ALICE.sign(b"", arr),  # no domain
        ALICE.sign(CARD_DOMAIN, msgpack.packb({k: f[k] for k in FIELDS[:-1]})),  # the map
        ALICE.sign(CARD_DOMAIN, msgpack.packb([f[k] for k in reversed(FIELDS[:-1])])),
        ALICE.sign(CARD_DOMAIN, arr[1:]),
    ]
    for sig in bad_sigs:
        with pytest.raises(CardError, match="signature"):
            ContactCard.decode(forge(sig=sig))
    assert ContactCard.decode(forge(sig=ALICE.sign(CARD_DOMAIN, arr))).display_name == "Alice"


def test_card_claiming_bobs_identity_signed_by_alice():
    with pytest.raises(CardError):
        ContactCard.decode(forge(id=BOB.identity_public, sk=BOB.static_public))


@pytest.mark.parametrize("ident", [bytes(32), b"\xff" * 32, bytes([1]) + bytes(31)])
def test_degenerate_identity_key(ident):
    with pytest.raises(CardError):
        ContactCard.decode(forge(id=ident))


# --- properties -----------------------------------------------------------------------------------


def _decode_or_card_error(data: bytes) -> ContactCard | None:
    try:
        return ContactCard.decode(data)
    except CardError:
        return None


@given(st.binary(max_size=MAX_CARD_BYTES + 64))
@FAST
@example(b"\x89")
@example(b"\xdf\xff\xff\xff\xff")
@example(b"\xc1")
@example(b"\xd4\x00\x00")
def test_arbitrary_bytes(data):
    result = _decode_or_card_error(data)
    assert result is None or isinstance(result, ContactCard)


@given(st.binary(max_size=200), st.integers(0, 338))
@FAST
def test_valid_prefix_then_garbage(tail, cut):
    good = forge()
    result = _decode_or_card_error(good[:cut] + tail)
    assert result is None or good[:cut] + tail == good


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.text(max_size=70),
    st.binary(max_size=70),
    st.sampled_from([ALICE.identity_public, ALICE.static_public, ONION, TS, 1]),
    st.lists(st.integers(0, 255), max_size=4),
)


@given(
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=5)), _values, max_size=12),
    st.booleans(),
)
@SLOW
def test_structured_garbage(raw, fill):
    if fill:  # start from a valid card so the field checks, not the key set, are exercised
        raw = {**msgpack.unpackb(forge()), **{k: v for k, v in raw.items() if k in FIELDS}}
    data = msgpack.packb(raw, use_bin_type=True)
    result = _decode_or_card_error(data)
    assert result is None or result == ContactCard.decode(forge())


def _accepted_names() -> st.SearchStrategy[str]:
    def norm(s: str) -> str | None:
        try:
            return normalize_display_name(s)
        except CardError:
            return None

    return st.text(max_size=70).map(norm).filter(lambda s: s is not None)


@given(st.text(max_size=80))
@FAST
def test_normalize_display_name_properties(text):
    try:
        name = normalize_display_name(text)
    except CardError:
        return
    assert name == normalize_display_name(name)  # idempotent
    assert name == unicodedata.normalize("NFC", name)
    assert name == name.strip()
    assert 1 <= len(name) <= 64
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") for c in name)
    assert not set(name) & {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


@given(_accepted_names())
@SLOW
@example("\u00e9")
@example("e\u0301")
def test_display_names_round_trip(name):
    card = ContactCard.create(ALICE, name, RATCHET, TS)
    assert card.display_name == normalize_display_name(name)
    assert ContactCard.decode(card.encode()) == card
    assert ContactCard.decode(forge(name=card.display_name)).display_name == card.display_name


@given(st.data())
@FAST
def test_single_byte_mutations(card, data):
    good = card.encode()
    pos = data.draw(st.integers(0, len(good) - 1))
    xor = data.draw(st.integers(1, 255))
    mutated = good[:pos] + bytes([good[pos] ^ xor]) + good[pos + 1 :]
    result = _decode_or_card_error(mutated)
    assert result is None or result == card


@given(st.data())
@SLOW
def test_insertions_and_deletions(card, data):
    good = card.encode()
    pos = data.draw(st.integers(0, len(good)))
    if data.draw(st.booleans()):
        mutated = good[:pos] + data.draw(st.binary(min_size=1, max_size=4)) + good[pos:]
    else:
        mutated = good[:pos] + good[pos + data.draw(st.integers(1, 4)) :]
    assume(mutated != good)
    result = _decode_or_card_error(mutated)
    assert result is None or result == card


def test_client_auth_key_round_trips_and_is_signed():
    ck = bytes(range(32))
    card = ContactCard.create(ALICE, "Alice", RATCHET, TS, inbox=ONION, client_auth_key=ck)
    assert ContactCard.decode(card.encode()).client_auth_key == ck
    assert card.to_json()["client_auth_key"] == ck.hex()
    raw = msgpack.unpackb(card.encode())
    raw["ck"] = bytes(32)  # swapped without re-signing
    with pytest.raises(CardError):
        ContactCard.decode(msgpack.packb(raw, use_bin_type=True))
    for bad in (b"x" * 31, b"x" * 33, "k" * 32, 7):
        with pytest.raises(CardError):
            ContactCard.create(ALICE, "Alice", RATCHET, TS, client_auth_key=bad)  # type: ignore[arg-type]
