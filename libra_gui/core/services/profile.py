"""Create, unlock and re-key a profile: the first thing both the GUI and the CLI do."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from ..crypto.identity import IdentityKeys
from ..crypto.onion import ClientAuthKey, OnionServiceKey
from ..crypto.ratchet import RatchetAccount
from ..errors import CorruptStore
from ..protocol.card import ContactCard, normalize_display_name
from ..storage import identity as identity_repo
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from ..storage.database import Database
from ..storage.keyfile import DEFAULT_KDF, KdfParams
from .paths import ensure_private_dir

PICKLE_KEY_SETTING = "ratchet.pickle_key"
INBOX_SEED_SETTING = "tor.inbox_seed"  # Ed25519 seed of our inbox onion service
CLIENT_AUTH_SETTING = "tor.client_auth_key"  # X25519 key contacts authorize on their inbox


@dataclass
class Profile:
    """An unlocked profile: the open store plus the user's keys, held only in memory."""

    db: Database
    keys: IdentityKeys = field(repr=False)
    account: RatchetAccount = field(repr=False)
    pickle_key: bytes = field(repr=False)
    display_name: str
    created_at: int
    inbox_key: OnionServiceKey = field(repr=False)
    client_auth: ClientAuthKey = field(repr=False)

    @property
    def card(self) -> ContactCard:
        """Our signed card (deterministic: Ed25519 signatures are, and every field is stored)."""
        return ContactCard.create(
            self.keys,
            self.display_name,
            self.account.identity_key,
            created=self.created_at // 1000,
            inbox=self.inbox_key.address,
            client_auth_key=self.client_auth.public,
        )

    async def reload_account(self) -> None:
        """Replace the in-memory account with the stored one (after a failed transaction)."""
        stored = await self.db.run(_load)
        self.account = RatchetAccount.from_bytes(
            stored.record.ratchet_account or b"", self.pickle_key
        )

    def save_account(self, conn: Connection) -> None:
        """Persist the ratchet account (call inside the transaction that changed it)."""
        identity_repo.set_ratchet_account(conn, self.account.to_bytes(self.pickle_key))


async def create_profile(
    data_dir: Path,
    passphrase: str,
    display_name: str,
    *,
    kdf_params: KdfParams = DEFAULT_KDF,
) -> ContactCard:
    """Generate keys and write a new encrypted profile; return our contact card."""
    name = normalize_display_name(display_name)
    ensure_private_dir(Path(data_dir))
    keys = IdentityKeys.generate()
    account = RatchetAccount.generate()
    pickle_key = secrets.token_bytes(32)
    created_at = int(time.time() * 1000)

    inbox_seed = secrets.token_bytes(32)
    client_auth = ClientAuthKey.generate()

    def initialize(conn: Connection) -> None:
        identity_repo.create(
            conn,
            keys,
            name,
            ratchet_account=account.to_bytes(pickle_key),
            created_at=created_at,
        )
        settings_repo.put(conn, PICKLE_KEY_SETTING, pickle_key)
        settings_repo.put(conn, INBOX_SEED_SETTING, inbox_seed)
        settings_repo.put(conn, CLIENT_AUTH_SETTING, client_auth.private)

    db = await Database.create(data_dir, passphrase, kdf_params=kdf_params, initialize=initialize)
    await db.close()
    return ContactCard.create(
        keys,
        name,
        account.identity_key,
        created=created_at // 1000,
        inbox=OnionServiceKey.from_seed(inbox_seed).address,
        client_auth_key=client_auth.public,
    )


@dataclass(frozen=True)
class _Stored:
    record: identity_repo.IdentityRecord
    pickle_key: bytes
    inbox_seed: bytes
    client_auth_secret: bytes


def _load(conn: Connection) -> _Stored:
    record = identity_repo.load(conn)
    values = [
        settings_repo.get(conn, key)
        for key in (PICKLE_KEY_SETTING, INBOX_SEED_SETTING, CLIENT_AUTH_SETTING)
    ]
    if record is None or record.ratchet_account is None or None in values:
        raise CorruptStore("the profile has no identity; it was not created completely")
    pickle_key, inbox_seed, client_auth_secret = (v or b"" for v in values)
    return _Stored(record, pickle_key, inbox_seed, client_auth_secret)


async def unlock(data_dir: Path, passphrase: str) -> Profile:
    """Open the store and load the keys. The caller closes ``profile.db``."""
    db = await Database.open(data_dir, passphrase)
    try:
        stored = await db.run(_load)
        record = stored.record
        return Profile(
            db=db,
            keys=record.keys(),
            account=RatchetAccount.from_bytes(record.ratchet_account or b"", stored.pickle_key),
            pickle_key=stored.pickle_key,
            display_name=record.display_name,
            created_at=record.created_at,
            inbox_key=OnionServiceKey.from_seed(stored.inbox_seed),
            client_auth=ClientAuthKey.from_private(stored.client_auth_secret),
        )
    except BaseException:
        await db.close()
        raise


@contextlib.asynccontextmanager
async def unlocked(data_dir: Path, passphrase: str) -> AsyncIterator[Profile]:
    """``async with unlocked(dir, pw) as profile:`` — closes the store on the way out."""
    profile = await unlock(data_dir, passphrase)
    try:
        yield profile
    finally:
        await profile.db.close()


async def change_passphrase(data_dir: Path, old: str, new: str) -> None:
    """Re-key the store (crash-safe; see docs/storage.md)."""
    async with await Database.open(data_dir, old) as db:
        await db.change_passphrase(old, new)
