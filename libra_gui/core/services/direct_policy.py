"""Who may see our IP address: the direct-path policy and the ICE servers, in the store.

A direct (WebRTC) connection reveals each side's IP address to the other, and STUN/TURN
servers learn it too. So the user decides, per contact (``contacts.direct_policy``:
default / off / allowed) and globally (the default for 'default' contacts: verified contacts
only, unless changed), and which STUN/TURN servers to use (none by default: then only host
candidates, which work on the same LAN). Everything lives in the encrypted store.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from urllib.parse import unquote, urlsplit

from ..errors import LibraError
from ..net.webrtc.attempt import IceServer
from ..storage import contacts as contacts_repo
from ..storage import settings as settings_repo
from ..storage._conn import Connection
from ..storage.contacts import DIRECT_POLICIES, Contact
from .events import Event, EventBus
from .profile import Profile
from .trust import DIRECT_DEFAULTS, may_connect_directly

DEFAULT_SETTING = "direct.default"
ICE_SETTING = "direct.ice_servers"
MAX_ICE_SERVERS = 8

IP_WARNING = (
    "A direct connection reveals your IP address (and so your approximate location) to this "
    "contact, and to any STUN/TURN server you configured. Tor is used when it is off."
)
"""Said plainly wherever the user turns a direct connection on (CLI and GUI)."""


class PolicyError(LibraError):
    """A policy value or ICE server URL that cannot be used (the message says why)."""


@dataclass(frozen=True)
class DirectPolicyChanged(Event):
    """A contact's direct-path policy (or the global default) changed; ``contact_id`` None
    means every contact may be affected."""

    contact_id: int | None
    policy: str


def parse_ice_url(text: str) -> IceServer:
    """Validate a stun:/turn:/turns: URL; credentials may be given as ``user:pass@`` (they
    are split off into the IceServer's username and credential)."""
    text = text.strip()
    scheme, _, rest = text.partition(":")
    if scheme not in ("stun", "turn", "turns") or not rest:
        raise PolicyError(f"not a STUN/TURN URL: {text!r} (use stun:HOST:PORT or turn:...)")
    username = credential = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, _, password = userinfo.partition(":")
        username, credential = unquote(user), unquote(password)
        if scheme == "stun":
            raise PolicyError("a STUN server takes no user name or password")
    host_port = rest.split("?", 1)[0]
    try:
        parsed = urlsplit("//" + host_port)
        host, port = parsed.hostname, parsed.port
    except ValueError:  # a bad port or a broken [IPv6] literal
        host = port = None
    if not host or port == 0 or (port is None and host_port.rstrip("]").count(":") > 0):
        raise PolicyError(f"bad host or port in {text!r}")
    if scheme != "stun" and not (username and credential):
        raise PolicyError(f"a TURN server needs a user name and password: {text!r}")
    try:
        return IceServer(f"{scheme}:{rest}", username, credential)
    except ValueError as exc:
        raise PolicyError(f"{exc}: {text!r}") from None


def _load_ice(conn: Connection) -> list[IceServer]:
    raw = settings_repo.get(conn, ICE_SETTING)
    if raw is None:
        return []
    return [IceServer(**item) for item in json.loads(raw)]


async def ice_servers(profile: Profile) -> list[IceServer]:
    """The configured STUN/TURN servers (empty: host candidates only)."""
    return await profile.db.run(_load_ice)


async def set_ice_servers(profile: Profile, urls: list[str]) -> list[IceServer]:
    """Replace the STUN/TURN servers (validated; at most MAX_ICE_SERVERS)."""
    if len(urls) > MAX_ICE_SERVERS:
        raise PolicyError(f"at most {MAX_ICE_SERVERS} STUN/TURN servers")
    specs = [parse_ice_url(u) for u in urls]
    data = json.dumps([asdict(s) for s in specs]).encode()
    await profile.db.transaction(lambda conn: settings_repo.put(conn, ICE_SETTING, data))
    return specs


async def global_default(profile: Profile) -> str:
    raw = await profile.db.run(settings_repo.get, DEFAULT_SETTING)
    value = raw.decode() if raw else "verified"
    return value if value in DIRECT_DEFAULTS else "verified"


async def set_global_default(profile: Profile, value: str, bus: EventBus | None = None) -> None:
    if value not in DIRECT_DEFAULTS:
        raise PolicyError(f"the default must be one of {', '.join(DIRECT_DEFAULTS)}")
    await profile.db.transaction(
        lambda conn: settings_repo.put(conn, DEFAULT_SETTING, value.encode())
    )
    if bus is not None:
        bus.publish(DirectPolicyChanged(None, value))


async def set_contact_policy(
    profile: Profile, contact_id: int, policy: str, bus: EventBus | None = None
) -> Contact:
    """Set one contact's policy: 'default' (follow the global default), 'off' or 'allowed'."""
    if policy not in DIRECT_POLICIES:
        raise PolicyError(f"the policy must be one of {', '.join(DIRECT_POLICIES)}")

    def store(conn: Connection) -> Contact:
        contacts_repo.set_direct_policy(conn, contact_id, policy)  # type: ignore[arg-type]
        contact = contacts_repo.get(conn, contact_id)
        if contact is None:
            raise PolicyError(f"no contact {contact_id}")
        return contact

    contact = await profile.db.transaction(store)
    if bus is not None:
        bus.publish(DirectPolicyChanged(contact_id, policy))
    return contact


async def allowed(profile: Profile, contact_id: int) -> bool:
    """Is a direct path with this contact allowed right now (our side)?"""

    def check(conn: Connection) -> bool:
        contact = contacts_repo.get(conn, contact_id)
        if contact is None:
            return False
        raw = settings_repo.get(conn, DEFAULT_SETTING)
        default = raw.decode() if raw else "verified"
        return may_connect_directly(contact, default)

    return await profile.db.run(check)
