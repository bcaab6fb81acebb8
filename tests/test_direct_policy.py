"""Direct-path policy and ICE server settings, on a real SQLCipher profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libra_gui.core.services import contacts, profile
from libra_gui.core.services import direct_policy as dp
from libra_gui.core.services.events import EventBus
from libra_gui.core.storage import INSECURE_TEST_KDF

PASS = "policy test passphrase"


@pytest.fixture
async def alice_with_bob(tmp_path: Path):
    bob_card = await profile.create_profile(
        tmp_path / "b", PASS, "bob", kdf_params=INSECURE_TEST_KDF
    )
    await profile.create_profile(tmp_path / "a", PASS, "alice", kdf_params=INSECURE_TEST_KDF)
    async with profile.unlocked(tmp_path / "a", PASS) as prof:
        bob = await contacts.add_from_card(prof, bob_card.encode())
        yield prof, bob.id


async def test_default_policy_allows_only_verified_contacts(alice_with_bob):
    prof, bob = alice_with_bob
    assert await dp.allowed(prof, bob) is False  # words-only contacts start "known"
    await dp.set_global_default(prof, "known")
    assert await dp.allowed(prof, bob) is True
    await dp.set_global_default(prof, "off")
    assert await dp.allowed(prof, bob) is False
    assert await dp.allowed(prof, 999) is False  # no such contact: never


async def test_contact_policy_overrides_the_default_and_publishes(alice_with_bob):
    prof, bob = alice_with_bob
    bus = EventBus()
    seen: list[object] = []
    bus.add_listener(seen.append)
    contact = await dp.set_contact_policy(prof, bob, "allowed", bus)
    assert contact.direct_policy == "allowed"
    assert await dp.allowed(prof, bob) is True
    await dp.set_contact_policy(prof, bob, "off", bus)
    await dp.set_global_default(prof, "known", bus)
    assert await dp.allowed(prof, bob) is False  # 'off' beats any default
    assert seen == [
        dp.DirectPolicyChanged(bob, "allowed"),
        dp.DirectPolicyChanged(bob, "off"),
        dp.DirectPolicyChanged(None, "known"),
    ]
    with pytest.raises(dp.PolicyError):
        await dp.set_contact_policy(prof, bob, "sometimes")
    with pytest.raises(dp.PolicyError):
        await dp.set_global_default(prof, "everyone")


async def test_ice_servers_round_trip_in_the_encrypted_store(alice_with_bob):
    prof, _ = alice_with_bob
    assert await dp.ice_servers(prof) == []  # nothing configured: host candidates only
    saved = await dp.set_ice_servers(
        prof, ["stun:10.0.0.1:3478", "turn:al%40ce:s3cret@turn.example:3478?transport=udp"]
    )
    assert await dp.ice_servers(prof) == saved
    assert saved[0] == dp.IceServer("stun:10.0.0.1:3478")
    assert saved[1] == dp.IceServer("turn:turn.example:3478?transport=udp", "al@ce", "s3cret")
    with pytest.raises(dp.PolicyError):
        await dp.set_ice_servers(prof, ["stun:a:1"] * (dp.MAX_ICE_SERVERS + 1))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "http://x:80",
        "stun:",
        "stun:user:pw@host:3478",  # STUN has no credentials
        "turn:host:3478",  # TURN needs them
        "stun:host:notaport",
        "stun:host:0",
        "stun::3478",
    ],
)
def test_bad_ice_urls_are_refused(bad: str):
    with pytest.raises(dp.PolicyError):
        dp.parse_ice_url(bad)


@given(st.text(max_size=80))
def test_parse_ice_url_never_raises_anything_but_policy_error(text: str):
    try:
        spec = dp.parse_ice_url(text)
    except dp.PolicyError:
        return
    assert spec.url.split(":", 1)[0] in ("stun", "turn", "turns")
