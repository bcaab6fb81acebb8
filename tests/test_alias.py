"""Three-word aliases: pinned derivation, binding, beacon address, word list, input parsing.

Known-answer vectors use the production Argon2id parameters (~0.2 s each) so the derivation
can never change silently; everything else uses FAST parameters.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import math
import string

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import given, settings
from hypothesis import strategies as st

from libra_gui.core.crypto import alias as A
from libra_gui.core.crypto import onion
from libra_gui.core.crypto.identity import IdentityKeys
from libra_gui.core.errors import CryptoError, LibraError

FAST = A.KdfParams(opslimit=1, memlimit=8 * 1024)
WORDS = A.wordlist()
ZERO = bytes(32)
RAMP = bytes(range(32))
ONES = b"\xff" * 32

# (identity_public, counter) -> words, production ALIAS_KDF. Never edit: users' aliases.
ALIAS_VECTORS = [
    (ZERO, 0, ("public", "cataract", "backrest")),
    (ZERO, 1, ("gloating", "aqua", "wick")),
    (RAMP, 0, ("lucid", "shifting", "trustful")),
    (ONES, 2**64 - 1, ("powdering", "substance", "playable")),
]
# words -> (beacon seed hex, beacon onion address), production BEACON_KDF.
BEACON_VECTORS = [
    (
        ("amber", "falcon", "canyon"),
        "35c230fa9f1c72a07b2d682a3bac36032e90f5a95c5aed03dd7bc498fc330649",
        "4uyvgvo5ijlf55kjaqxsrgdlu5hbc6o45hz26x4rhxm46fs2tzmmotid",
    ),
    (
        ("abacus", "abdomen", "abdominal"),
        "fc6e7c7c00e331ef5d061ec3c5fda122cbb2d3c43219419d6d1897e21fc2b6fe",
        "egnxwcpupyqi7ih6eqlm4iieie3le4trelwgsqyf7esd7waybjwgpeyd",
    ),
    (
        ("t-shirt", "yo-yo", "zoom"),
        "eb6c17627cfa54d31757902b3180bdd27577b6f0fea387e85b3c2b7bb0d9432a",
        "dvbtwypdd4mig3lxw2vdy64lssbpjhdfom3hhwzjacm3ljscossllcad",
    ),
]


def _dice(number: str) -> int:
    """List position of an EFF dice number such as 24255 (five base-6 digits, 1-based)."""
    return int("".join(str(int(d) - 1) for d in number), 6)


# --- word list ------------------------------------------------------------------------------


def test_wordlist_is_the_eff_large_list():
    raw = importlib.resources.files(A.WORDLIST_PACKAGE).joinpath(A.WORDLIST_FILE).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == A.WORDLIST_SHA256
    assert raw.endswith(b"\n") and b"\r" not in raw and b"\t" not in raw
    assert len(WORDS) == A.WORDLIST_SIZE == 7776 == len(set(WORDS))
    assert all(set(w) <= set(string.ascii_lowercase + "-") for w in WORDS)
    assert list(WORDS) == sorted(WORDS)  # EFF's order is alphabetical
    known = {
        "11111": "abacus",
        "11112": "abdomen",
        "11113": "abdominal",
        "24255": "drop-down",
        "26522": "felt-tip",
        "61534": "t-shirt",
        "66622": "yo-yo",
        "66665": "zoology",
        "66666": "zoom",
    }
    for number, word in known.items():
        assert WORDS[_dice(number)] == word
    assert [w for w in WORDS if "-" in w] == ["drop-down", "felt-tip", "t-shirt", "yo-yo"]
    assert math.isclose(A.ALIAS_BITS, 38.77, abs_tol=0.01)


def test_altered_wordlist_is_refused(monkeypatch):
    A.wordlist.cache_clear()
    monkeypatch.setattr(A, "WORDLIST_SHA256", "0" * 64)
    try:
        with pytest.raises(A.WordListError):
            A.wordlist()
    finally:
        monkeypatch.undo()
        A.wordlist.cache_clear()
    assert A.wordlist() == WORDS


def test_example_alias_in_messages_is_real():
    assert A.parse_alias("amber-falcon-canyon") == ("amber", "falcon", "canyon")


# --- pinned derivation (production parameters) -----------------------------------------------


def test_production_parameters_are_pinned():
    for params in (A.ALIAS_KDF, A.BEACON_KDF):
        assert (params.opslimit, params.memlimit) == (3, 128 * 1024 * 1024)
    assert A.ALIAS_SALT == b"libra/alias/v1\x00\x00"
    assert A.BEACON_SALT == b"libra/beacon/v1\x00"


@pytest.mark.parametrize(
    ("identity", "counter", "words"), ALIAS_VECTORS, ids=["zero-0", "zero-1", "ramp-0", "ones-max"]
)
def test_alias_known_answers(identity, counter, words):
    alias = A.derive_alias(identity, counter)
    assert alias == A.Alias(words, counter)
    assert alias.text == str(alias) == "-".join(words)


def test_alias_matches_an_independent_argon2id():
    """The same digest from OpenSSL's Argon2id (cryptography): units and encoding are right."""
    password = RAMP + (0).to_bytes(8, "big")
    digest = Argon2id(
        salt=A.ALIAS_SALT, length=48, iterations=3, lanes=1, memory_cost=128 * 1024
    ).derive(password)
    expected = tuple(
        WORDS[int.from_bytes(digest[i : i + 16], "big") % 7776] for i in range(0, 48, 16)
    )
    assert expected == ALIAS_VECTORS[2][2]


@pytest.mark.parametrize(
    ("words", "seed_hex", "address"), BEACON_VECTORS, ids=["-".join(v[0]) for v in BEACON_VECTORS]
)
def test_beacon_known_answers(words, seed_hex, address):
    seed = A.beacon_seed(words)
    assert seed.hex() == seed_hex
    assert onion.onion_address_from_seed(seed) == address
    assert onion.is_onion_address(address)


def test_binding_with_production_parameters():
    identity, counter, words = ALIAS_VECTORS[0]
    A.verify_binding(words, identity, counter)
    A.verify_binding("Public Cataract Backrest", identity, counter)
    with pytest.raises(A.AliasMismatch):
        A.verify_binding(words, RAMP, counter)


# --- derivation properties (fast parameters) -------------------------------------------------


def test_different_identity_or_counter_gives_different_words():
    keys = [IdentityKeys.generate().identity_public for _ in range(8)]
    seen = {A.derive_alias(k, c, params=FAST).words for k in keys for c in range(4)}
    assert len(seen) == 32
    again = A.derive_alias(keys[0], 3, params=FAST)
    assert again == A.derive_alias(keys[0], 3, params=FAST)  # deterministic
    assert again.counter == 3 and all(w in WORDS for w in again.words)


def test_derive_rejects_bad_input():
    for bad_key in (b"", bytes(31), bytes(33), "x" * 32):
        with pytest.raises(CryptoError):
            A.derive_alias(bad_key, 0, params=FAST)  # type: ignore[arg-type]
    for bad_counter in (-1, 2**64, True, 1.0):
        with pytest.raises(CryptoError):
            A.derive_alias(ZERO, bad_counter, params=FAST)  # type: ignore[arg-type]


def test_kdf_params_validate():
    with pytest.raises(ValueError):
        A.KdfParams(opslimit=0, memlimit=8192)
    with pytest.raises(ValueError):
        A.KdfParams(opslimit=1, memlimit=1000)


def test_verify_binding_detects_impostors():
    owner = IdentityKeys.generate().identity_public
    impostor = IdentityKeys.generate().identity_public
    alias = A.derive_alias(owner, 5, params=FAST)
    A.verify_binding(alias, owner, 5, params=FAST)
    A.verify_binding(alias.words, owner, 5, params=FAST)
    A.verify_binding(alias.text.upper(), owner, 5, params=FAST)
    cases = [(impostor, 5), (owner, 4), (owner, 6), (bytes(31), 5), (owner, -1)]
    for identity, counter in cases:
        with pytest.raises(A.AliasMismatch) as info:
            A.verify_binding(alias, identity, counter, params=FAST)
        assert isinstance(info.value, CryptoError)
    with pytest.raises(A.AliasSyntaxError):
        A.verify_binding(("amber", "falcon", "nope"), owner, 5, params=FAST)


def test_beacon_address_is_a_function_of_the_words_only():
    words = ("amber", "falcon", "canyon")
    address = A.beacon_address(words, params=FAST)
    assert onion.is_onion_address(address)
    assert A.beacon_address("AMBER falcon.canyon", params=FAST) == address
    assert A.beacon_address(A.Alias(words, 9), params=FAST) == address
    assert A.beacon_service_key(words, params=FAST).address == address
    assert A.beacon_address(("amber", "canyon", "falcon"), params=FAST) != address
    # Different domain salts: the beacon seed is not the alias digest of anything.
    assert A.beacon_seed(words, params=FAST) != A.beacon_seed(words[::-1], params=FAST)


def test_canonical_words_is_strict_for_sequences():
    assert A.canonical_words([" Amber ", "FALCON", "canyon"]) == ("amber", "falcon", "canyon")
    with pytest.raises(A.AliasSyntaxError):
        A.canonical_words(["amb", "falcon", "canyon"])  # no completion for key derivation
    with pytest.raises(A.AliasSyntaxError):
        A.canonical_words(["amber", "falcon"])
    with pytest.raises(A.AliasSyntaxError):
        A.canonical_words(["amber", "falcon", 3])  # type: ignore[list-item]


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "amber-falcon-canyon",
        "Amber Falcon Canyon",
        "  AMBER   falcon\tcanyon \n",
        "amber.falcon.canyon",
        "amber_falcon_canyon",
        "amber, falcon, canyon",
        "amber -- falcon__canyon.",
        "amber\u2013falcon\u2014canyon",  # en and em dashes
        "\uff41\uff4d\uff42\uff45\uff52 falcon canyon",  # full-width letters (NFKC)
    ],
)
def test_parse_normalises(text):
    assert A.parse_alias(text) == ("amber", "falcon", "canyon")


def test_parse_completes_unique_prefixes():
    assert A.parse_alias("amber falc cany") == ("amber", "falcon", "canyon")
    assert A.parse_alias("walr velv otte") == ("walrus", "velvet", "otter")
    assert A.parse_alias("tsh dropd zoom") == ("t-shirt", "drop-down", "zoom")
    # An exact word is never "completed" to a longer one.
    assert A.parse_alias("zoom zoom zoom") == ("zoom", "zoom", "zoom")


def test_parse_refuses_ambiguous_or_too_short_prefixes():
    with pytest.raises(A.AliasSyntaxError) as info:
        A.parse_alias("abd falcon canyon")
    assert info.value.position == 0
    assert info.value.suggestions == ("abdomen", "abdominal")
    with pytest.raises(A.AliasSyntaxError) as info:
        A.parse_alias("amber falcon pro")
    assert info.value.position == 2 and "77 words" in str(info.value)
    with pytest.raises(A.AliasSyntaxError):
        A.parse_alias("fa falcon canyon")  # two letters: never completed


def test_parse_hyphenated_list_words():
    assert A.parse_alias("t-shirt-yo-yo-zoom") == ("t-shirt", "yo-yo", "zoom")
    assert A.parse_alias("T Shirt, Yo Yo, Zoom") == ("t-shirt", "yo-yo", "zoom")
    assert A.parse_alias("felt-tip drop-down yoyo") == ("felt-tip", "drop-down", "yoyo")
    assert A.parse_alias("tshirt dropdown felttip") == ("t-shirt", "drop-down", "felt-tip")
    assert A.parse_alias("yoyo yoyo yo-yo") == ("yoyo", "yoyo", "yo-yo")  # both are words
    for word in ("drop-down", "felt-tip", "t-shirt", "yo-yo"):
        alias = A.Alias((word, word, word), 0)
        assert A.parse_alias(alias.text) == alias.words


@pytest.mark.parametrize(
    ("text", "position", "suggestions"),
    [
        ("falcom amber canyon", 0, ("falcon",)),  # substitution
        ("amber falconn canyon", 1, ("falcon",)),  # insertion
        ("amber falcn canyon", 1, ("falcon",)),  # deletion
        ("amber flacon canyon", 1, ("falcon",)),  # transposition
        ("amber falon canyon", 1, ("falcon", "salon", "talon")),  # several: all listed
        ("amber falcon tshrit", 2, ("t-shirt",)),  # via the hyphen-less spelling
        ("amber falcon dog", 2, ("dig", "fog")),
    ],
)
def test_parse_suggests_one_edit_typos(text, position, suggestions):
    with pytest.raises(A.AliasSyntaxError) as info:
        A.parse_alias(text)
    err = info.value
    assert (err.position, err.suggestions) == (position, suggestions)
    assert "did you mean" in str(err)
    for word in suggestions:
        assert f'"{word}"' in str(err)


def test_parse_never_corrects_silently():
    with pytest.raises(A.AliasSyntaxError):
        A.parse_alias("amberr falcon canyon")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no words"),
        (" -.,_ ", "no words"),
        ("amber falcon", "this has 2"),
        ("amber", "this has 1"),
        ("amber falcon canyon otter", "this has 4"),
        ("a b c d e f g", "this has 7"),
        ("amber " * 60, "too long"),
        ("xqzt falcon canyon", "not in the word list"),
    ],
)
def test_parse_errors_are_clear(text, fragment):
    with pytest.raises(A.AliasSyntaxError) as info:
        A.parse_alias(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, LibraError)


def test_parse_rejects_non_text():
    with pytest.raises(A.AliasSyntaxError):
        A.parse_alias(b"amber falcon canyon")  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------

_word = st.sampled_from(WORDS)
_sep = st.sampled_from([" ", "-", ".", "_", ",", ", ", "  ", "\t", " - "])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_arbitrary_text_is_words_or_syntax_error(text):
    try:
        words = A.parse_alias(text)
    except A.AliasSyntaxError as exc:
        assert str(exc)
        # A suggestion is a list word, or a whole alias when the text was ambiguous.
        assert all(s in WORDS or s.count("-") >= 2 for s in exc.suggestions)
    else:
        assert len(words) == 3 and all(w in WORDS for w in words)


@settings(max_examples=200, deadline=None)
@given(st.lists(_word, min_size=3, max_size=3), _sep, _sep, st.booleans())
def test_parse_round_trips_any_alias(words, sep1, sep2, upper):
    text = f"{words[0]}{sep1}{words[1]}{sep2}{words[2]}"
    assert A.parse_alias(text.upper() if upper else text) == tuple(words)
    assert A.parse_alias(A.Alias(tuple(words), 0).text) == tuple(words)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    _word.filter(lambda w: "-" not in w),
    st.integers(0, 20),
    st.sampled_from(string.ascii_lowercase),
    st.integers(0, 3),
)
def test_one_edit_typo_is_caught_and_suggested(word, where, letter, kind):
    """Any single edit of a word either lands on another list word or names the original."""
    i = where % (len(word) + 1)
    if kind == 0:
        typo = word[:i] + letter + word[i + 1 :]
    elif kind == 1:
        typo = word[:i] + letter + word[i:]
    elif kind == 2:
        typo = word[:i] + word[i + 1 :]
    else:
        j = min(i, len(word) - 2)
        typo = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    text = f"{typo} falcon canyon"
    try:
        got = A.parse_alias(text)
    except A.AliasSyntaxError as exc:
        assert exc.position == 0 and word in exc.suggestions
    else:
        # Landed on a list word, or on a unique prefix of one: never on a non-list word.
        assert got[0] in WORDS and got[1:] == ("falcon", "canyon")
