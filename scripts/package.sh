#!/usr/bin/env bash
# Builds the Debian package dist/xivo-confd_VERSION_ARCH.deb with dpkg-deb
# alone (no cargo-deb to install): the binary, the systemd unit, the
# system user (sysusers.d), the commented configuration in /etc/xivo-confd/
# (a conffile), the docs and an example Litestream configuration.
#
#   scripts/package.sh                  release build, then the package
#   scripts/package.sh --binary PATH    package PATH as the binary (the
#                                       tests pass their own build)
#   --output DIR                        where the .deb goes (default dist/)
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
output="dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --output) output="$2"; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--output DIR]" >&2; exit 2 ;;
    esac
done
if [ -z "$binary" ]; then
    cargo build --release --locked
    binary="${CARGO_TARGET_DIR:-target}/release/xivo-confd"
fi
[ -x "$binary" ] || { echo "no binary at $binary" >&2; exit 1; }

name=xivo-confd
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$binary" "$root/usr/bin/$name"
strip --strip-debug "$root/usr/bin/$name" 2>/dev/null || true
install -D -m 0644 packaging/xivo-confd.service "$root/lib/systemd/system/$name.service"
install -D -m 0644 packaging/sysusers.conf "$root/usr/lib/sysusers.d/$name.conf"
# the example with the package's paths: the database under /var/lib, the
# log in the journal
install -d "$root/etc/$name"
{
    echo "# /etc/xivo-confd/config.toml: read by the service (xivo-confd.service)."
    echo "# Check a change with: xivo-confd check-config /etc/xivo-confd/config.toml"
    echo "# then: systemctl restart xivo-confd. Logs: journalctl -u xivo-confd"
    echo "#"
    sed -e 's|^path = "xivo.db"|path = "/var/lib/xivo-confd/xivo.db"|' \
        -e 's|^# file = "/var/log/xivo-confd.log"|# file = "/var/lib/xivo-confd/xivo-confd.log" (the journal has it already)|' \
        xivo.toml.example
} > "$root/etc/$name/config.toml"
chmod 0640 "$root/etc/$name/config.toml"
grep -q '^path = "/var/lib/xivo-confd/xivo.db"' "$root/etc/$name/config.toml" \
    || { echo "the database path was not set in the packaged configuration" >&2; exit 1; }
doc="$root/usr/share/doc/$name"
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 packaging/litestream.yml "$doc/examples/litestream.yml"
cat > "$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: $name
License: GPL-3.0-or-later
Files: *
License: GPL-3.0-or-later
 On Debian systems, the full text of the GNU General Public License
 version 3 is in /usr/share/common-licenses/GPL-3.
COPYRIGHT

# the shared libraries the binary links, by the Debian packages that ship them
depends=$(ldd "$binary" | awk '/=> \//{print $3}' | while read -r lib; do
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
done | cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g')
[ -n "$depends" ] || depends="libc6, libssl3"

install -d "$root/DEBIAN"
install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: xivo-confd maintainers <root@localhost>
Installed-Size: $size
Depends: $depends, adduser
Recommends: sqlite3
Suggests: litestream
Section: net
Priority: optional
Homepage: https://github.com/wazo-platform/wazo-confd
Description: XiVO confd 1.1 and xivo-auth 0.1 REST APIs over SQLite
 One small binary serving the XiVO 15.20 configuration API and its token
 API from an embedded SQLite database, as a hardened systemd service with
 its own user. Includes backup, restore, a configuration checker, a demo
 company and Prometheus metrics.
CONTROL

mkdir -p "$output"
deb="$output/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
