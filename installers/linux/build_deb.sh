#!/usr/bin/env bash
# Build libra_<version>_<arch>.deb from the PyInstaller onedir bundle.
#
#   installers/linux/build_deb.sh [BUNDLE_DIR] [OUT_DIR]
#       BUNDLE_DIR  PyInstaller output, default dist/libra
#       OUT_DIR     where the .deb goes, default dist
#
# Layout: the bundle in /opt/libra (it finds its own files next to the executable),
# /usr/bin/libra -> /opt/libra/libra, a desktop entry, and /usr/share/doc/libra/copyright.
# Depends: computed from what the bundle links (installers/linux/deb_depends.py).
# Compression: DEB_COMPRESS=xz|gzip|zstd (default xz -6: the smallest download; gzip builds
# several times faster, which is what CI uses). DEB_MAINTAINER="Name <mail>" for releases.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bundle="$(cd "${1:-$root/dist/libra}" && pwd)"
out="$(mkdir -p "${2:-$root/dist}" && cd "${2:-$root/dist}" && pwd)"
compress="${DEB_COMPRESS:-xz}"

[ -x "$bundle/libra" ] || { echo "build_deb.sh: no $bundle/libra (build the bundle first)" >&2; exit 2; }
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/libra_gui/__init__.py")"
[ -n "$version" ] || { echo "build_deb.sh: no __version__ in libra_gui/__init__.py" >&2; exit 2; }
arch="$(dpkg --print-architecture)"
deb="$out/libra_${version}_${arch}.deb"

pkg="$(mktemp -d)"
trap 'rm -rf "$pkg"' EXIT
chmod 755 "$pkg"  # mktemp's 0700 would become the package's "./"
umask 022
install -d "$pkg/DEBIAN" "$pkg/opt/libra" "$pkg/usr/bin" "$pkg/usr/share/applications" \
  "$pkg/usr/share/doc/libra"
cp -a "$bundle/." "$pkg/opt/libra/"
chmod -R u+rwX,go+rX,go-w "$pkg/opt/libra"
ln -s ../../opt/libra/libra "$pkg/usr/bin/libra"

cat > "$pkg/usr/share/applications/libra.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Libra
GenericName=Messenger
Comment=Anonymous, end-to-end encrypted messenger over Tor
Exec=/usr/bin/libra
Icon=internet-chat
Terminal=false
Categories=Network;InstantMessaging;Chat;
Keywords=chat;tor;encrypted;anonymous;
EOF

cat > "$pkg/usr/share/doc/libra/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Libra

Files: *
License: GPL-3.0-or-later
 On Debian systems the full text is in /usr/share/common-licenses/GPL-3.

Files: opt/libra/_internal/bundled_tor/*
Comment: tor, its geoip database and pluggable transports, unmodified Debian binaries
 (tor's RPATH set to find the bundled libevent). Their copyright files are in
 /opt/libra/_internal/bundled_tor/*/licenses/; MANIFEST.json lists each source package,
 version and sha256.

Files: opt/libra/_internal/*
Comment: Python, Qt (PySide6, LGPL-3.0) and the other libraries Libra runs on, as shipped in
 their PyPI wheels; each package's license is in its *.dist-info folder.
EOF

depends="$(python3 "$here/deb_depends.py" "$bundle")"
installed_kb="$(du -sk --apparent-size "$pkg" | cut -f1)"
cat > "$pkg/DEBIAN/control" <<EOF
Package: libra
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-Libra maintainers <maintainers@libra.invalid>}
Installed-Size: $installed_kb
Depends: $depends
Section: net
Priority: optional
Description: anonymous, end-to-end encrypted, serverless messenger over Tor
 Every user is a Tor onion service; messages are end-to-end encrypted (Noise, Double
 Ratchet) and kept only in a passphrase-encrypted database. Tor and its pluggable
 transports (obfs4, snowflake) are bundled, so bridges work out of the box.
EOF

case "$compress" in
  xz) zopts=(-Zxz -z6) ;;
  gzip) zopts=(-Zgzip -z6) ;;
  zstd) zopts=(-Zzstd -z3) ;;
  *) echo "build_deb.sh: DEB_COMPRESS must be xz, gzip or zstd" >&2; exit 2 ;;
esac
dpkg-deb --root-owner-group "${zopts[@]}" --build "$pkg" "$deb" >/dev/null
echo "$deb"
