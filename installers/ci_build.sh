#!/usr/bin/env bash
# CI: build the Linux bundle for real, package it, install the package, and make the INSTALLED
# `libra --self-test` prove it works with its own bundled tor.
#
#   bash installers/ci_build.sh            (as root: it installs and then purges a .deb)
#
# 1. build tools (patchelf, binutils); the `bundle` extra (PyInstaller) into $PYTHON's venv,
#    else .venv-test, else a new build/venv-bundle with Libra installed from this checkout
# 2. tor, geoip, obfs4proxy, snowflake-client from the pinned Debian packages (bundled_tor/)
# 3. the PyInstaller onedir bundle (installers/libra.spec)
# 4. the .deb (installers/linux/build_deb.sh), 5. `apt-get install` it (pulls its Depends)
# 6. /usr/bin/libra --self-test in a clean environment, offscreen; it must report the tor in
#    /opt/libra, 7. bundle size and frozen start-to-window time, cold (page cache of /opt/libra
#    dropped) and warm. 70-120 s on 2 cores with cached wheels. The .deb stays in build/ci/
#    (DEB_COMPRESS=xz for a release-size one); LIBRA_KEEP_INSTALLED=1 keeps it installed.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$root/build/ci"
# The test venv if there is one (fastest), else a build venv with the package really installed.
py="${PYTHON:-}"
[ -z "$py" ] && [ -x "$root/.venv-test/bin/python" ] && py="$root/.venv-test/bin/python"
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
step() { echo "== ci_build [$(($(date +%s) - start)) s] $*"; }
fail() { echo "ci_build.sh: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "ci_build.sh: run as root (it installs the .deb)" >&2; exit 2; }

step "build tools"
apt-get install -y -q --no-install-recommends patchelf binutils >/dev/null
if [ -n "$py" ]; then
  "$py" -m pip install -q -c constraints.txt -e '.[bundle]'
else
  python3 -m venv "$root/build/venv-bundle"
  py="$root/build/venv-bundle/bin/python"
  "$py" -m pip install -q -c constraints.txt '.[bundle]'
fi

step "pinned tor from Debian packages"
rm -rf "$work"
mkdir -p "$work"
"$py" bundled_tor/fetch.py fetch debian-bookworm-amd64 --dest "$work/tor" \
  --cache bundled_tor/.cache

step "PyInstaller bundle"
LIBRA_TOR_DIR="$work/tor/linux-x86_64" "$py" -m PyInstaller --noconfirm --clean \
  --log-level WARN --distpath "$work/dist" --workpath "$work/pyinstaller" \
  installers/libra.spec >"$work/pyinstaller.log" 2>&1 ||
  { tail -40 "$work/pyinstaller.log"; fail "PyInstaller (log: $work/pyinstaller.log)"; }
grep '^libra.spec:' "$work/pyinstaller.log" | cut -c1-300
rm -rf "$work/pyinstaller"

step ".deb"
deb="$(DEB_COMPRESS="${DEB_COMPRESS:-zstd}" bash installers/linux/build_deb.sh "$work/dist/libra" "$work")"
echo "$deb"

step "install with apt"
cleanup() {
  if [ "${LIBRA_KEEP_INSTALLED:-0}" != 1 ] && dpkg -s libra >/dev/null 2>&1; then
    apt-get purge -y -q libra >/dev/null || true
  fi
}
trap cleanup EXIT
if dpkg -s libra >/dev/null 2>&1; then apt-get purge -y -q libra >/dev/null; fi
apt-get install -y -q --no-install-recommends "$deb" | grep -E '^(Setting up|Unpacking) ' || true
dpkg -s libra | grep -E '^(Status|Version):'
[ -x /usr/bin/libra ] || fail "/usr/bin/libra missing after install"

# The installed app alone: no venv, no repository, a fresh HOME, PATH with the system's tor on
# it (/usr/bin/tor) so that falling back to it would be noticed by the check below.
home="$(mktemp -d)"
selftest() {
  (cd "$home" && env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 \
    QT_QPA_PLATFORM=offscreen /usr/bin/libra --self-test)
}
summary() { sed -n 's/^SELFTEST //p' | tail -1; }

step "installed libra --self-test"
out="$(selftest)" || { echo "$out"; fail "the installed libra --self-test"; }
echo "$out" | grep -v '^SELFTEST '
first="$(echo "$out" | summary)"
python3 - "$first" <<'EOF' || fail "the self-test did not use the bundled tor"
import json, sys
s = json.loads(sys.argv[1])
assert s["ok"] and s["frozen"], s
assert s["tor_bundled"] and s["tor_path"].startswith("/opt/libra/"), s["tor_path"]
assert {"obfs4", "snowflake"} <= set(s["transports"]), s["transports"]
print(f"bundled tor used: {s['tor_path']} (Tor {s['tor_version']})")
EOF

step "size and frozen cold start"
# Evict only /opt/libra's pages (not the whole machine's cache): a first start after boot.
python3 - <<'EOF'
import os
for folder, _, files in os.walk("/opt/libra"):
    for name in files:
        path = os.path.join(folder, name)
        if os.path.islink(path):
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
EOF
cold="$(selftest | summary)" || fail "cold self-test"
warm="$(selftest | summary)" || fail "warm self-test"
size="$(du -sb /opt/libra | cut -f1)"
tor="$(du -sb /opt/libra/_internal/bundled_tor | cut -f1)"
python3 - "$cold" "$warm" "$size" "$tor" "$(stat -c %s "$deb")" <<'EOF'
import json, sys
cold, warm = json.loads(sys.argv[1]), json.loads(sys.argv[2])
size, tor, deb = (int(v) / 1e6 for v in sys.argv[3:6])
assert cold["ok"] and warm["ok"]
print(f"bundle /opt/libra: {size:.1f} MB installed (tor part {tor:.1f} MB; goal <= 250 MB), "
      f".deb {deb:.1f} MB")
print(f"frozen start to main window: cold {cold['window_s']:.2f} s, warm "
      f"{warm['window_s']:.2f} s (goal <= 3 s)")
EOF
rm -rf "$home"
step "done: $deb"
