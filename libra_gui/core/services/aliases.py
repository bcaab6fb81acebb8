"""My alias: the three words, whether I am findable, and how (public / private / one-time).

The words are derived from the identity key and a counter (crypto/alias.py), so they are not
stored as a secret; only the counter and the beacon settings live in the encrypted store.
A *public* beacon's onion key is derived from the words (anyone with the words can find it).
A *private* beacon, or a one-time invite, uses a random onion key and requires Tor client
authorization: its address and credential travel only inside the invite (QR code or link),
so knowing the words is not enough to see that the beacon exists or to race it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, replace

from ..crypto import alias as alias_crypto
from ..crypto.onion import ClientAuthKey, OnionServiceKey
from ..protocol.uri import Invite
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from .profile import Profile

_KEY = "alias.state"


@dataclass(frozen=True)
class BeaconConfig:
    """What the owner chose; persisted as one small record."""

    counter: int = 0
    findable: bool = False
    private: bool = False
    one_time: bool = False
    expires: int | None = None  # unix seconds
    invite_used: bool = False
    onion_seed: bytes | None = None  # random key of a private / one-time beacon
    credential: bytes | None = None  # x25519 private key in the invite (private beacon)

    @property
    def active(self) -> bool:
        """Should the beacon run now?"""
        expired = self.expires is not None and time.time() >= self.expires
        return self.findable and not expired and not (self.one_time and self.invite_used)

    def encode(self) -> bytes:
        from ..protocol.codec import pack

        return pack(
            [
                self.counter,
                self.findable,
                self.private,
                self.one_time,
                self.expires,
                self.invite_used,
                self.onion_seed,
                self.credential,
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> BeaconConfig:
        from ..protocol.codec import unpack_strict

        fields = unpack_strict(data)
        return cls(*fields)


@dataclass(frozen=True)
class AliasState:
    """Everything the UI shows about my alias."""

    alias: alias_crypto.Alias
    config: BeaconConfig
    beacon_key: OnionServiceKey

    @property
    def beacon_address(self) -> str:
        return self.beacon_key.address

    @property
    def active(self) -> bool:
        """Should the beacon run now?"""
        return self.config.active

    def invite(self, fingerprint: bytes) -> Invite:
        c = self.config
        return Invite(
            words=self.alias.words,
            fingerprint=fingerprint,
            counter=self.alias.counter,
            credential=c.credential,
            expires=c.expires,
            one_time=c.one_time,
            onion=self.beacon_address if c.onion_seed is not None else None,
        )


class AliasService:
    """Reads and changes my alias and beacon settings (Argon2id work off the event loop)."""

    def __init__(self, profile: Profile) -> None:
        self._profile = profile
        self._cache: AliasState | None = None

    async def config(self) -> BeaconConfig:
        """The stored settings alone (cheap: no Argon2id)."""
        if self._cache is not None:
            return self._cache.config
        return await self._profile.db.run(_load)

    async def state(self) -> AliasState:
        if self._cache is None:
            config = await self._profile.db.run(_load)
            self._cache = await self._derive(config)
        return self._cache

    async def regenerate(self) -> AliasState:
        """New words (counter + 1); a private beacon also gets a new key and credential."""
        current = await self.state()
        config = replace(current.config, counter=current.config.counter + 1, invite_used=False)
        if config.onion_seed is not None:
            config = _with_private_keys(config)
        return await self._save(config)

    async def set_findable(
        self,
        findable: bool,
        *,
        private: bool = False,
        one_time: bool = False,
        expires: int | None = None,
    ) -> AliasState:
        current = (await self.state()).config
        config = replace(
            current,
            findable=findable,
            private=private,
            one_time=one_time,
            expires=expires,
            invite_used=False,
            onion_seed=None,
            credential=None,
        )
        if findable and (private or one_time):
            config = _with_private_keys(config)
        return await self._save(config)

    async def mark_invite_used(self) -> AliasState:
        current = (await self.state()).config
        return await self._save(replace(current, invite_used=True))

    async def _save(self, config: BeaconConfig) -> AliasState:
        await self._profile.db.transaction(_store, config)
        self._cache = await self._derive(config)
        return self._cache

    async def _derive(self, config: BeaconConfig) -> AliasState:
        """Words and beacon key for ``config``; the two Argon2id runs only when they change."""
        old = self._cache
        if old is not None and old.config.counter == config.counter:
            alias = old.alias
        else:
            identity = self._profile.keys.identity_public
            alias = await asyncio.to_thread(alias_crypto.derive_alias, identity, config.counter)
        if config.onion_seed is not None:
            key = OnionServiceKey.from_seed(config.onion_seed)
        elif old is not None and old.alias == alias and old.config.onion_seed is None:
            key = old.beacon_key
        else:
            key = await asyncio.to_thread(alias_crypto.beacon_service_key, alias)
        return AliasState(alias, config, key)


def _with_private_keys(config: BeaconConfig) -> BeaconConfig:
    return replace(
        config,
        onion_seed=secrets.token_bytes(32),
        credential=ClientAuthKey.generate().private if config.private else None,
    )


def _load(conn: Connection) -> BeaconConfig:
    data = settings_repo.get(conn, _KEY)
    return BeaconConfig() if data is None else BeaconConfig.decode(data)


def _store(conn: Connection, config: BeaconConfig) -> None:
    settings_repo.put(conn, _KEY, config.encode())
