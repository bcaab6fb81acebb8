"""App settings in the encrypted store (core/services/app_settings.py): bridge-line parsing
(property-tested), extra torrc checks, TorSettings building (checked by a real tor's
--verify-config, with the real obfs4/snowflake programs when installed), and storage round
trips and the passphrase change on real SQLCipher profiles."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libra_gui import cli
from libra_gui.core.errors import WrongPassphrase
from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.net.tor.torrc import build_torrc, plan_control
from libra_gui.core.services import app_settings as s
from libra_gui.core.services import direct_policy, profile
from libra_gui.core.services.aliases import AliasService
from libra_gui.core.services.events import EventBus
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import settings as settings_repo

PASS = "app settings passphrase"
FP = "0123456789ABCDEF0123456789ABCDEF01234567"
OBFS4 = f"obfs4 192.0.2.10:443 {FP} cert=ssH+9rP8dG2NLDN2XuFw63hIO/9MNNinLmxQDpVa+7kTOa9/m+tGWT1SmSYpQ9uTBGa6Hw iat-mode=0"  # noqa: E501
SNOWFLAKE = (
    "snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 "
    "fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72 "
    "url=https://snowflake-broker.torproject.net.global.prod.fastly.net/ "
    "front=foursquare.com ice=stun:stun.l.google.com:19302,stun:stun.antisip.com:3478 "
    "utls-imitate=hellorandomizedalpn"
)
WEBTUNNEL = f"webtunnel [2001:db8::7]:443 {FP} url=https://example.org/path ver=0.0.1"
PLAIN = "198.51.100.7:9001"

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- bridge lines: properties --------------------------------------------------------------

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda ip: f"[{ip.compressed}]")
ports = st.integers(1, 65535)
fingerprints = st.text("0123456789ABCDEF", min_size=40, max_size=40)
keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
values = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="="),
    min_size=1,
    max_size=40,
)


@st.composite
def bridges(draw: st.DrawFn) -> s.Bridge:
    transport = draw(st.sampled_from([None, "obfs4", "snowflake", "webtunnel", "meek_lite"]))
    address = f"{draw(ipv4 | ipv6)}:{draw(ports)}"
    fingerprint = draw(st.none() | fingerprints)
    params: list[tuple[str, str]] = []
    if transport is not None:
        params = draw(st.lists(st.tuples(keys, values), max_size=4))
        if transport == "obfs4":
            params.insert(0, ("cert", draw(values)))
        if transport in ("webtunnel", "meek_lite"):
            params.insert(0, ("url", "https://" + draw(values)))
    return s.Bridge(transport, address, fingerprint, tuple(params))


@FAST
@given(bridges(), st.booleans(), st.sampled_from(["", " ", "\t"]))
def test_every_valid_bridge_line_parses_back_to_the_same_bridge(bridge, prefixed, pad):
    line = f"{pad}{'Bridge ' if prefixed else ''}{bridge.line()}{pad}"
    parsed = s.parse_bridge_line(line)
    assert parsed == bridge
    assert s.parse_bridge_line(parsed.torrc()) == bridge


@FAST
@given(st.text(max_size=300))
def test_any_text_is_a_list_of_bridges_or_a_bridge_line_error(text):
    try:
        found = s.parse_bridges(text)
    except s.BridgeLineError as exc:
        assert str(exc)
        return
    for bridge in found:
        line = bridge.torrc()
        # What reaches tor's configuration is one line of printable text, and stable.
        assert line.isprintable() and "\n" not in line
        assert s.parse_bridge_line(line) == bridge


@FAST
@given(st.lists(bridges(), max_size=6), st.lists(st.sampled_from(["", "# note", "UseBridges 1"])))
def test_pasted_blocks_skip_noise_and_drop_duplicates(found, noise):
    lines = [b.line() for b in found] + [b.line() for b in found] + noise
    parsed = s.parse_bridges("\n".join(lines))
    assert parsed == list(dict.fromkeys(found))


# --- bridge lines: examples ------------------------------------------------------------------


@pytest.mark.parametrize("line", [OBFS4, SNOWFLAKE, WEBTUNNEL, PLAIN, f"Bridge {PLAIN} {FP}"])
def test_real_world_bridge_lines_parse(line):
    bridge = s.parse_bridge_line(line)
    assert bridge.line() == line.removeprefix("Bridge ")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("obfs4 192.0.2.10:443 " + FP + " iat-mode=0", "cert="),
        ("obfs4 bridge.example.org:443 " + FP + " cert=x", "IP address"),
        ("obfs4 192.0.2.10:70000 cert=x", "IP address"),
        ("obfs4 192.0.2.10 cert=x", "IP address"),
        ("obfs4", "no address"),
        ("192.0.2.10:443 cert=x", "no type"),
        (OBFS4[:60] + " " + OBFS4[60:70], "neither a fingerprint"),  # a line cut in two
        ("Bridge", "empty"),
        ("2001:db8::1:443", "bridge type"),  # IPv6 needs brackets
        ("webtunnel [2001:db8::7]:443 " + FP, "url="),
        ("obfs4 192.0.2.10:443 cert=x\u200b", "invisible"),
        ("-obfs4 192.0.2.10:443", "bridge type"),
    ],
)
def test_broken_bridge_lines_are_refused_with_a_reason(line, says):
    with pytest.raises(s.BridgeLineError, match=says):
        s.parse_bridge_line(line)


def test_errors_name_the_line_and_old_instructions_are_accepted():
    text = f"UseBridges 1\nClientTransportPlugin obfs4 exec /x\n\n# mine\n{OBFS4}\nobfs4 oops"
    with pytest.raises(s.BridgeLineError, match="Line 6") as caught:
        s.parse_bridges(text)
    assert caught.value.line_number == 6
    assert [b.line() for b in s.parse_bridges(text.rsplit("\n", 1)[0])] == [OBFS4]
    with pytest.raises(s.BridgeLineError, match="at most"):
        s.parse_bridges([f"198.51.100.{i}:443" for i in range(s.MAX_BRIDGES + 1)])


# --- transports and the torrc lines ----------------------------------------------------------


def _bundle(tmp_path: Path, transports: dict[str, list[str]]) -> Path:
    """A folder laid out like bundled_tor/<platform>/ (real tor and PT programs, linked)."""
    folder = tmp_path / "bundle"
    (folder / "pluggable_transports").mkdir(parents=True)
    tor = shutil.which("tor") or "/usr/sbin/tor"
    (folder / "tor").symlink_to(tor)
    for rel in transports:
        (folder / rel).symlink_to(shutil.which(Path(rel).name) or "/nonexistent")
    (folder / "MANIFEST.json").write_text(json.dumps({"transports": transports}))
    return folder / "tor"


needs_obfs4 = pytest.mark.skipif(not shutil.which("obfs4proxy"), reason="needs obfs4proxy")
needs_snowflake = pytest.mark.skipif(
    not shutil.which("snowflake-client"), reason="needs snowflake-client"
)
needs_tor = pytest.mark.skipif(not shutil.which("tor"), reason="needs tor")


@needs_obfs4
@needs_snowflake
def test_bundled_transports_come_from_the_manifest_next_to_tor(tmp_path):
    tor = _bundle(
        tmp_path,
        {
            "pluggable_transports/obfs4proxy": ["obfs4", "meek_lite"],
            "pluggable_transports/snowflake-client": ["snowflake"],
        },
    )
    found = s.parse_bridges([OBFS4, SNOWFLAKE])
    lines = s.bridge_lines(found, tor, search_path="")
    pt = tor.parent / "pluggable_transports"
    assert lines == [
        "UseBridges 1",
        f"ClientTransportPlugin obfs4 exec {pt / 'obfs4proxy'}",
        f"ClientTransportPlugin snowflake exec {pt / 'snowflake-client'}",
        f"Bridge {OBFS4}",
        f"Bridge {SNOWFLAKE}",
    ]


def test_a_missing_transport_program_is_refused_when_saving_and_skipped_when_starting(tmp_path):
    tor = tmp_path / "empty" / "tor"
    found = s.parse_bridges([OBFS4, PLAIN])
    with pytest.raises(s.TransportMissing, match="obfs4") as caught:
        s.bridge_lines(found, tor, search_path="")
    assert caught.value.transport == "obfs4"
    assert s.bridge_lines(found, tor, strict=False, search_path="") == [
        "UseBridges 1",
        f"Bridge {OBFS4}",
        f"Bridge {PLAIN}",
    ]
    # The user's own plugin line counts as providing the transport.
    own = ["ClientTransportPlugin obfs4 exec /opt/pt/lyrebird"]
    assert s.bridge_lines(found, tor, own, search_path="")[1] == f"Bridge {OBFS4}"
    assert s.bridge_lines(s.parse_bridges([PLAIN]), tor, search_path="") == [
        "UseBridges 1",
        f"Bridge {PLAIN}",
    ]


@needs_tor
@needs_obfs4
@needs_snowflake
def test_a_real_tor_accepts_the_configuration_built_from_the_settings(tmp_path):
    prefs = s.validate_tor(
        s.TorPrefs(
            mode="system",
            use_bridges=True,
            bridges=(OBFS4, SNOWFLAKE, PLAIN),
            extra_torrc=("DisableNetwork 1", "# a comment", "ConnectionPadding 1"),
            circuit_build_timeout=45,
            bootstrap_timeout=300,
        )
    )
    built = s.tor_settings_from(prefs, TorSettings(data_dir=tmp_path / "tor"))
    assert built.tor_path == s.system_tor() and built.bootstrap_timeout == 300
    assert built.extra_torrc[:2] == ("LearnCircuitBuildTimeout 0", "CircuitBuildTimeout 45")
    assert "UseBridges 1" in built.extra_torrc
    assert any(ln.startswith("ClientTransportPlugin obfs4 exec ") for ln in built.extra_torrc)
    assert built.extra_torrc[-2:] == ("DisableNetwork 1", "ConnectionPadding 1")
    data_dir = tmp_path / "tor"
    data_dir.mkdir(mode=0o700)
    torrc = build_torrc(
        data_dir, plan_control(data_dir), owner_pid=1, sandbox=False, extra=built.extra_torrc
    )
    done = subprocess.run(
        [str(built.tor_path), "--verify-config", "--defaults-torrc", "/dev/null", "-f", "-"],
        input=torrc,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Configuration was valid" in done.stdout


# --- extra torrc lines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "ControlPort 9051",
        "SocksPort 9050",
        "DataDirectory /tmp/x",
        "CookieAuthentication 0",
        "ORPort 443",
        "BridgeRelay 1",
        "HiddenServiceDir /tmp/hs",
        "%include /etc/passwd",
        "ClientOnly 0",
        "Exit-Nodes {de}",  # not an option name
        "Log notice file /tmp/x\nControlPort 1",
    ],
)
def test_extra_lines_that_break_libra_or_serve_others_are_refused(line):
    with pytest.raises(s.TorLineError):
        s.check_extra_torrc([line])


def test_extra_lines_for_test_networks_and_tuning_pass():
    lines = [
        "TestingTorNetwork 1",
        "DirAuthority a orport=5000 v3ident=AB 127.0.0.1:7000 " + FP,
        "",
        "# comment",
        "  UseDefaultFallbackDirs 0  ",
        "ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy",
    ]
    assert s.check_extra_torrc(lines) == [
        lines[0],
        lines[1],
        "UseDefaultFallbackDirs 0",
        lines[-1],
    ]


# --- tor modes --------------------------------------------------------------------------------


def test_modes_choose_the_program_or_the_running_tor(tmp_path):
    base = TorSettings(data_dir=tmp_path / "tor", sandbox=False)
    assert s.tor_settings_from(s.TorPrefs(), base) == base  # defaults change nothing
    system = s.tor_settings_from(s.TorPrefs(mode="system"), base)
    assert system.tor_path is not None and system.tor_path.name == "tor"
    custom = s.tor_settings_from(s.TorPrefs(mode="custom", tor_path="~/tor/tor"), base)
    assert custom.tor_path == Path("~/tor/tor").expanduser() and not custom.sandbox
    attach = s.TorPrefs(mode="attach", attach_port=9051, attach_password="secret")
    endpoint = s.tor_settings_from(attach, base).attach
    assert endpoint is not None and endpoint.describe() == "control port 127.0.0.1:9051"
    assert endpoint.password == "secret" and "secret" not in repr(attach)
    sock = s.TorPrefs(mode="attach", attach_socket="/run/tor/control")
    assert s.tor_settings_from(sock, base).attach.socket_path == Path("/run/tor/control")
    broken = s.TorPrefs(mode="attach")  # neither port nor socket: run our own instead
    assert s.tor_settings_from(broken, base).attach is None


def test_validation_says_what_is_missing(tmp_path):
    with pytest.raises(s.TorProgramError, match="choose the Tor program"):
        s.validate_tor(s.TorPrefs(mode="custom"))
    with pytest.raises(s.TorProgramError, match="does not exist"):
        s.validate_tor(s.TorPrefs(mode="custom", tor_path=str(tmp_path / "tor")))
    with pytest.raises(s.TorProgramError, match="control port or socket"):
        s.validate_tor(s.TorPrefs(mode="attach"))
    with pytest.raises(s.BridgeLineError, match="no bridge lines"):
        s.validate_tor(s.TorPrefs(use_bridges=True))
    with pytest.raises(s.SettingsError, match="10-300"):
        s.validate_tor(s.TorPrefs(circuit_build_timeout=5))
    with pytest.raises(s.SettingsError, match="30-1800"):
        s.validate_tor(s.TorPrefs(bootstrap_timeout=10))
    # Bridges kept while switched off are still checked, and normalised.
    kept = s.validate_tor(s.TorPrefs(bridges=(f"  Bridge {PLAIN}  ", "", PLAIN)))
    assert kept.bridges == (PLAIN,) and not kept.use_bridges


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:9051", ("127.0.0.1", 9051, None)),
        ("9151", ("127.0.0.1", 9151, None)),
        ("[::1]:9051", ("::1", 9051, None)),
        ("unix:/run/tor/control", ("127.0.0.1", None, "/run/tor/control")),
        ("/run/tor/control", ("127.0.0.1", None, "/run/tor/control")),
    ],
)
def test_control_addresses(text, parsed):
    assert s.parse_control_address(text) == parsed


@pytest.mark.parametrize("text", ["", "localhost", "127.0.0.1:0", "host:99999", "a b:9051"])
def test_bad_control_addresses(text):
    with pytest.raises(s.TorProgramError):
        s.parse_control_address(text)


# --- stored on a real profile -------------------------------------------------------------------


@pytest.fixture
async def prof(tmp_path: Path):
    await profile.create_profile(tmp_path / "p", PASS, "Robin", kdf_params=INSECURE_TEST_KDF)
    async with profile.unlocked(tmp_path / "p", PASS) as unlocked:
        yield unlocked


async def test_tor_prefs_round_trip_and_build_the_node_settings(prof, tmp_path):
    assert await s.tor_prefs(prof) == s.TorPrefs()
    chosen = s.TorPrefs(
        mode="attach",
        attach_port=9151,
        attach_password="pw",
        bridges=(PLAIN,),
        extra_torrc=("ConnectionPadding 1",),
        circuit_build_timeout=90,
    )
    saved = await s.save_tor(prof, chosen)
    assert saved == chosen
    assert await s.tor_prefs(prof) == chosen
    built = await s.stored_tor_settings(prof, tmp_path / "tor")
    assert built.data_dir == tmp_path / "tor"
    assert built.attach is not None and built.attach.port == 9151
    assert built.extra_torrc == (
        "LearnCircuitBuildTimeout 0",
        "CircuitBuildTimeout 90",
        "ConnectionPadding 1",
    )
    with pytest.raises(s.TorLineError):
        await s.save_tor(prof, s.TorPrefs(extra_torrc=("SocksPort 9050",)))
    assert await s.tor_prefs(prof) == chosen  # a refused save changes nothing


async def test_damaged_or_foreign_records_fall_back_to_defaults(prof):
    async def put(key: str, raw: bytes) -> None:
        await prof.db.transaction(lambda conn: settings_repo.put(conn, key, raw))

    await put(s.TOR_KEY, b"{not json")
    assert await s.tor_prefs(prof) == s.TorPrefs()
    record = {"mode": "warp", "use_bridges": 1, "bridges": [PLAIN, 3], "bootstrap_timeout": 300}
    await put(s.TOR_KEY, json.dumps({**record, "future_field": True}).encode())
    assert await s.tor_prefs(prof) == s.TorPrefs(bootstrap_timeout=300)
    await put(s.TOR_KEY, json.dumps({"circuit_build_timeout": True, "attach_port": 9}).encode())
    assert await s.tor_prefs(prof) == s.TorPrefs(attach_port=9)
    await put(s.APPEARANCE_KEY, json.dumps({"theme": "neon", "language": "de"}).encode())
    assert await s.appearance(prof) == s.AppearancePrefs()
    await put(s.APPEARANCE_KEY, b"[]")
    assert await s.appearance(prof) == s.AppearancePrefs()


async def test_privacy_settings_live_where_their_services_read_them(prof):
    bus = EventBus()
    seen: list[object] = []
    bus.add_listener(seen.append)
    assert await s.privacy(prof) == s.PrivacyPrefs()
    chosen = s.PrivacyPrefs(
        direct_default="known",
        ice_servers=("stun:stun.example.org:3478", "turn:al%40ice:p%3Ass@turn.example.org:3478"),
        file_auto_accept=True,
        file_max_size=50 << 20,
        notifications="hidden",
    )
    await s.save_privacy(prof, chosen, bus)
    assert await s.privacy(prof) == chosen
    assert await direct_policy.global_default(prof) == "known"
    servers = await direct_policy.ice_servers(prof)
    assert (servers[1].username, servers[1].credential) == ("al@ice", "p:ss")
    assert [type(e).__name__ for e in seen] == ["DirectPolicyChanged"]
    await s.save_privacy(prof, chosen, bus)
    assert len(seen) == 1  # unchanged default: no event
    with pytest.raises(direct_policy.PolicyError):
        await s.save_privacy(prof, s.PrivacyPrefs(ice_servers=("turn:nocreds.example:3478",)))
    with pytest.raises(s.SettingsError):
        await s.save_privacy(prof, s.PrivacyPrefs(notifications="loud"))
    assert await s.privacy(prof) == chosen


async def test_appearance_and_the_snapshot(prof):
    await s.save_appearance(prof, s.AppearancePrefs(theme="dark", language="de"))
    with pytest.raises(s.SettingsError):
        await s.save_appearance(prof, s.AppearancePrefs(language="../../etc"))
    aliases = AliasService(prof)
    await aliases.set_findable(True, private=True)
    snap = await s.snapshot(prof, aliases)
    assert snap.appearance == s.AppearancePrefs(theme="dark", language="de")
    assert snap.findable and snap.beacon_private and not snap.beacon_one_time
    assert snap.tor == s.TorPrefs() and snap.privacy == s.PrivacyPrefs()


async def test_change_passphrase_rekeys_the_open_profile(tmp_path):
    data_dir = tmp_path / "p"
    await profile.create_profile(data_dir, PASS, "Robin", kdf_params=INSECURE_TEST_KDF)
    new = "a brand new passphrase"
    async with profile.unlocked(data_dir, PASS) as prof:
        with pytest.raises(s.PassphraseTooShort):
            await s.change_passphrase(prof, PASS, "short")
        with pytest.raises(s.SettingsError, match="same"):
            await s.change_passphrase(prof, PASS, PASS)
        with pytest.raises(WrongPassphrase):
            await s.change_passphrase(prof, "not the passphrase", new)
        await s.change_passphrase(prof, PASS, new)
        await s.save_appearance(prof, s.AppearancePrefs(theme="light"))  # still usable
    with pytest.raises(WrongPassphrase):
        await profile.unlock(data_dir, PASS)
    async with profile.unlocked(data_dir, new) as prof:
        assert (await s.appearance(prof)).theme == "light"


def test_the_minimum_passphrase_length_is_the_clis():
    assert s.MIN_PASSPHRASE_CHARS == cli.MIN_PASSPHRASE_CHARS
