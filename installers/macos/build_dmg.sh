#!/usr/bin/env bash
# Build, sign, notarise and staple Libra-<version>-macos-<arch>.dmg on a Mac (one command):
#
#   CODESIGN_IDENTITY="Developer ID Application: NAME (TEAMID)" NOTARY_PROFILE=libra \
#   LIBRA_TOR_KEYRING=~/keys/tor-browser-developers.asc installers/macos/build_dmg.sh
#
#   PYTHON             Python 3.11+ from python.org (universal2), default python3
#   LIBRA_TOR_KEYRING  the Tor Browser Developers public key (first build, see bundled_tor/)
#   CODESIGN_IDENTITY  unset: ad-hoc signature, no notarisation (for a local test only)
#   NOTARY_PROFILE     keychain profile from `xcrun notarytool store-credentials`; unset: the
#                      dmg is signed but not notarised (Gatekeeper will refuse it on other Macs)
#
# The app is built for this Mac's architecture (PyAV ships per-architecture wheels); run it
# once on Apple silicon and once on Intel (or under `arch -x86_64` with Rosetta) for both dmgs.
# Step by step: installers/macos/README.md. Cannot be run or tested on the Linux CI.
set -euo pipefail
fail() { echo "build_dmg.sh: $*" >&2; exit 1; }
[ "$(uname -s)" = Darwin ] || fail "run this on macOS"
cd "$(dirname "$0")/../.."
root="$PWD"
python="${PYTHON:-python3}"
identity="${CODESIGN_IDENTITY:--}"
arch="$(uname -m)"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' libra_gui/__init__.py)"
work="$root/build/macos-$arch"
echo "== Libra $version for macOS $arch (signing identity: $identity)"

# 1. A clean build venv with the pinned dependencies and PyInstaller (the `bundle` extra).
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --upgrade -c constraints.txt ".[bundle]"

# 2. The pinned, signature-checked Tor Expert Bundles for both architectures, merged with lipo.
py="$work/venv/bin/python"  # fetch.py needs 3.11+ (tomllib); macOS's own python3 may be older
if ! "$py" bundled_tor/fetch.py verify macos-universal; then
  [ -n "${LIBRA_TOR_KEYRING:-}" ] || fail "set LIBRA_TOR_KEYRING (bundled_tor/README.md)"
  "$py" bundled_tor/fetch.py fetch expert-macos-universal --keyring "$LIBRA_TOR_KEYRING"
fi

# 3. Libra.app.
"$py" -m PyInstaller --noconfirm --clean --distpath "$work/dist" \
  --workpath "$work/pyinstaller" installers/libra.spec
app="$work/dist/Libra.app"
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/libra" --self-test

# 4. Sign inside-out with the hardened runtime: every Mach-O file (Python extensions, Qt,
#    tor, libevent, the transports), then the bundled tor's manifest is resealed (codesign
#    rewrote those files on purpose), then the app, which seals all resources.
timestamp=(--timestamp)
[ "$identity" = "-" ] && timestamp=(--timestamp=none)
sign() {
  codesign --force "${timestamp[@]}" --options runtime \
    --entitlements installers/macos/entitlements.plist --sign "$identity" "$@"
}
while IFS= read -r -d '' file; do
  if file -b "$file" | grep -q 'Mach-O'; then sign "$file"; fi
done < <(find "$app/Contents" -type f ! -path "$app/Contents/MacOS/libra" -print0)
tor="$(find "$app/Contents" -type f -path '*/bundled_tor/macos-universal/tor' | head -1)"
[ -n "$tor" ] || fail "no bundled tor inside $app"
"$py" bundled_tor/fetch.py reseal "$(dirname "$tor")" --reason "codesign by $identity"
sign "$app"
codesign --verify --deep --strict --verbose=2 "$app"
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/libra" --self-test  # signed, as users get it

# 5. The disk image: Libra.app and a link to /Applications to drag it onto.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
mkdir -p dist
dmg="dist/Libra-$version-macos-$arch.dmg"
hdiutil create -volname "Libra $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
if [ "$identity" != "-" ]; then
  codesign --force --timestamp --sign "$identity" "$dmg"
fi

# 6. Notarise and staple, so Gatekeeper accepts the dmg offline.
if [ -n "${NOTARY_PROFILE:-}" ] && [ "$identity" != "-" ]; then
  xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
  xcrun stapler validate "$dmg"
  spctl --assess --type open --context context:primary-signature --verbose=2 "$dmg"
else
  echo "build_dmg.sh: NOT notarised (set CODESIGN_IDENTITY and NOTARY_PROFILE for a release)"
fi
echo "$dmg"
