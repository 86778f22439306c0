#!/bin/sh
# Build the Debian package of the lobby kiosk from a PyInstaller bundle:
#
#   packaging/linux/build-deb.sh [BUNDLE_DIR] [OUTDIR]
#       BUNDLE_DIR  default dist/lobby-kiosk (packaging/build-bundle.sh makes it)
#       OUTDIR      default dist/
#   -> OUTDIR/lobby-kiosk_<version>_<arch>.deb    (version from `kiosk --version`,
#                                                  arch from dpkg --print-architecture)
#
# Contents:
#   /opt/lobby-kiosk/                     the bundle (the executable /opt/lobby-kiosk/kiosk)
#   /lib/systemd/system/lobby-kiosk-{session,x11,sync}.service
#   /usr/share/lobby-kiosk/install.sh     the maintainer scripts' shared code (below)
#   /usr/share/lobby-kiosk/kiosk.toml.sample
#   /usr/share/doc/lobby-kiosk/kiosk.toml.sample, copyright
# Maintainer scripts:
#   postinst configure   install.sh --package-configure: the kiosk user, /var/lib/lobby-kiosk,
#                        /etc/lobby-kiosk/kiosk.toml from the sample when missing (never
#                        overwritten; it is not a dpkg conffile, so upgrades never ask),
#                        masks getty@tty1, enables the cage session unit, migrates the
#                        database, restarts the services after an upgrade (a first install
#                        asks for a reboot), kiosk doctor
#   prerm                stops the services; on remove also disables them, unmasks getty@tty1
#   postrm purge         removes /etc/lobby-kiosk; keeps /var/lib/lobby-kiosk (the database
#                        holds patient data: IT decides) and the kiosk user
# Depends: cage, Wayland's client libraries and the runtime libraries of ./dev's RUN_PACKAGES,
# and a glibc at least as new as the build machine's. For the X fallback install xinit and
# xserver-xorg and enable lobby-kiosk-x11.service instead (see its header).
#
# Environment: DEB_COMPRESSION (dpkg-deb -Z: xz by default; gzip is faster to build),
# DEB_LEVEL (dpkg-deb -z), DEB_MAINTAINER.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle=${1:-$root/dist/lobby-kiosk}
outdir=${2:-$root/dist}
compression=${DEB_COMPRESSION:-xz}
level=${DEB_LEVEL:-6}
maintainer=${DEB_MAINTAINER:-Lobby kiosk maintainers <lobby-kiosk@localhost>}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-deb.sh: %s\n' "$*" >&2; exit 1; }

command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found (Debian: dpkg)"
if [ ! -x "$bundle/kiosk" ] || [ ! -d "$bundle/_internal" ]; then
  die "no bundle at $bundle (build it with packaging/build-bundle.sh)"
fi

version=$(QT_QPA_PLATFORM=offscreen "$bundle/kiosk" --version | awk '{print $NF}')
case "$version" in [0-9]*) ;; *) die "could not read the version from $bundle/kiosk --version" ;; esac
arch=$(dpkg --print-architecture)
glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
deb=$outdir/lobby-kiosk_${version}_${arch}.deb

tree=$(mktemp -d)
chmod 0755 "$tree"  # the package's ./ entry
trap 'rm -rf "$tree"' EXIT INT TERM
say "staging lobby-kiosk $version ($arch) in $tree"

mkdir -p "$tree/opt" "$tree/lib/systemd/system" "$tree/usr/share/lobby-kiosk" \
  "$tree/usr/share/doc/lobby-kiosk" "$tree/DEBIAN"
cp -a "$bundle" "$tree/opt/lobby-kiosk"
chmod -R u+rwX,go+rX,go-w "$tree/opt/lobby-kiosk"
for unit in lobby-kiosk-session.service lobby-kiosk-x11.service lobby-kiosk-sync.service \
    lobby-kiosk-messages.service; do
  install -m 0644 "$here/$unit" "$tree/lib/systemd/system/$unit"
done
install -m 0755 "$here/install.sh" "$tree/usr/share/lobby-kiosk/install.sh"
install -m 0644 "$here/../kiosk.toml.sample" "$tree/usr/share/lobby-kiosk/kiosk.toml.sample"
install -m 0644 "$here/../kiosk.toml.sample" "$tree/usr/share/doc/lobby-kiosk/kiosk.toml.sample"
cat > "$tree/usr/share/doc/lobby-kiosk/copyright" <<EOF
Lobby kiosk $version: Apache License 2.0 (/usr/share/common-licenses/Apache-2.0).
The bundle in /opt/lobby-kiosk also carries Python, Qt (LGPLv3, through PySide6) and the
Python packages the kiosk uses, each under its own license; their license files are in
/opt/lobby-kiosk/_internal (the *.dist-info folders).
EOF

installed_size=$(du -sk "$tree" | awk '{print $1}')
cat > "$tree/DEBIAN/control" <<EOF
Package: lobby-kiosk
Version: $version
Architecture: $arch
Maintainer: $maintainer
Section: misc
Priority: optional
Installed-Size: $installed_size
Depends: libc6 (>= $glibc), systemd, passwd, util-linux, cage, libwayland-client0, libwayland-cursor0, libwayland-egl1, libgl1, libegl1, libxkbcommon0, libglib2.0-0 | libglib2.0-0t64, libdbus-1-3, libfontconfig1, libpulse0, libxrandr2, fonts-noto-core, fonts-noto-cjk
Recommends: pipewire-pulse
Suggests: xinit, xserver-xorg, speech-dispatcher, speech-dispatcher-espeak-ng, libspeechd2
Description: Multilingual patient self-check-in kiosk for medical practices
 Patients check in by QR code or by name and date of birth, in their own
 language; reception sees the live queue. Runs full screen under the cage
 Wayland compositor on tty1 as the locked system user kiosk
 (lobby-kiosk-session.service); settings in /etc/lobby-kiosk/kiosk.toml.
EOF

cat > "$tree/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# lobby-kiosk postinst: the user, folders, settings and units, shared with install.sh.
set -e
case "$1" in
  configure) /usr/share/lobby-kiosk/install.sh --package-configure "${2:-}" ;;
esac
exit 0
EOF

cat > "$tree/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# lobby-kiosk prerm: stop the kiosk before its files change or go.
set -e
units="lobby-kiosk-session.service lobby-kiosk-x11.service lobby-kiosk-sync.service lobby-kiosk-messages.service"
if [ -d /run/systemd/system ]; then
  # shellcheck disable=SC2086
  systemctl stop $units || true
fi
if [ "$1" = remove ]; then
  # shellcheck disable=SC2086
  systemctl disable --quiet $units || true
  systemctl unmask getty@tty1.service || true
fi
exit 0
EOF

cat > "$tree/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# lobby-kiosk postrm: purge removes the settings, not the patient data.
set -e
if [ "$1" = purge ]; then
  rm -rf /etc/lobby-kiosk
  if [ -d /var/lib/lobby-kiosk ]; then
    echo "lobby-kiosk: /var/lib/lobby-kiosk (the database) and the user kiosk were kept;" \
      "remove them by hand once the data is no longer needed." >&2
  fi
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
EOF
chmod 0755 "$tree/DEBIAN/postinst" "$tree/DEBIAN/prerm" "$tree/DEBIAN/postrm"

say "building $deb ($compression)"
dpkg-deb --root-owner-group -Z"$compression" -z"$level" --build "$tree" "$deb" >/dev/null
say "built $deb ($(du -h "$deb" | cut -f1))"
