#!/bin/sh
# Install or upgrade the lobby kiosk on a Debian or Ubuntu machine (run as root):
#
#   packaging/linux/install.sh [--bundle DIR] [--x11] [--sound] [--speech] [--no-start] [--dry-run]
#
#   --bundle DIR   the PyInstaller bundle folder (default: dist/lobby-kiosk of this checkout,
#                  as packaging/build-bundle.sh makes it)
#   --x11          run the kiosk under a minimal X session (xinit, lobby-kiosk-x11.service)
#                  instead of the Wayland kiosk compositor cage (lobby-kiosk-session.service)
#   --sound        also install a sound server (PipeWire) for the chimes
#   --speech       also install speech-dispatcher with eSpeak NG voices (speak_guidance,
#                  board_announce); implies --sound
#   --no-start     install and enable, but do not (re)start the services now
#   --dry-run      print what would be done, change nothing (root not needed)
#
# What it does, in order (safe to run again: that is how a kiosk is upgraded):
#   1. apt-get installs cage (or, with --x11, xinit and the X server) and the libraries Qt needs
#      at run time (the list of ./dev's RUN_PACKAGES, plus Wayland's client libraries).
#   2. Creates the system user `kiosk` if missing: no password (locked), no sudo rights, home
#      /var/lib/lobby-kiosk. Its shell is /bin/sh and not /usr/sbin/nologin because the
#      account owns a real login session on tty1 (the units use PAMName=login): a site's PAM
#      stack may check for a valid shell (pam_shells), and IT's tools for acting inside that
#      session (`machinectl shell kiosk@`, `su kiosk`) start the user's shell. The locked
#      password is what keeps people out: nobody can log in as kiosk, on a console or by SSH.
#   3. /var/lib/lobby-kiosk (kiosk:kiosk 0750: the SQLite database, caches) and
#      /etc/lobby-kiosk (root:kiosk 0750) with kiosk.toml (root:kiosk 0640) copied from
#      kiosk.toml.sample only when missing: an existing file is never overwritten.
#   4. Stops the services, copies the bundle to /opt/lobby-kiosk.new and renames it into
#      place (/opt/lobby-kiosk; the old folder is removed after the switch). A failed copy
#      leaves the installed version untouched.
#   5. Installs the systemd units into /etc/systemd/system, masks getty@tty1 (the session unit
#      owns tty1: it IS the automatic login), makes graphical.target the default, enables the
#      session unit (and the sync unit when fhir_base_url is set in kiosk.toml).
#   6. Runs `kiosk db upgrade` as the user kiosk, starts the services (not when this script
#      runs on tty1 itself: reboot then), and ends with `kiosk doctor`.
#
# Screen blanking: under cage nothing is needed (cage never blanks the screen). Under X the
# unit starts the X server with `-s 0 -dpms`, the same as `xset s off -dpms`.
# A lobby board or reception machine instead of a patient kiosk:
#   systemctl edit lobby-kiosk-session   and set, under [Service]:
#     ExecStart=
#     ExecStart=/usr/bin/cage -d -s -- /opt/lobby-kiosk/kiosk board
# Local changes to the units belong in such drop-ins: this script rewrites the unit files.
#
# The lobby-kiosk .deb (packaging/linux/build-deb.sh) ships this script as
# /usr/share/lobby-kiosk/install.sh and its postinst runs steps 2, 3, 5 and 6 with
# --package-configure (apt has installed the packages, dpkg has placed the files).
set -eu

APP=lobby-kiosk
USER_NAME=kiosk
OPT=/opt/$APP
ETC=/etc/$APP
VAR=/var/lib/$APP
CONFIG=$ETC/kiosk.toml
SESSION_UNIT=lobby-kiosk-session.service
X11_UNIT=lobby-kiosk-x11.service
SYNC_UNIT=lobby-kiosk-sync.service
MESSAGES_UNIT=lobby-kiosk-messages.service

# As ./dev's RUN_PACKAGES: Qt's runtime libraries and fonts for every language of the kiosk.
RUN_PACKAGES="libgl1 libegl1 libxkbcommon0 libglib2.0-0 libdbus-1-3 libfontconfig1 libpulse0
libxrandr2 fonts-noto-core fonts-noto-cjk"
WAYLAND_PACKAGES="cage libwayland-client0 libwayland-cursor0 libwayland-egl1"
X11_PACKAGES="xserver-xorg xinit x11-xserver-utils"
SOUND_PACKAGES="pipewire-pulse wireplumber"
SPEECH_PACKAGES="speech-dispatcher speech-dispatcher-espeak-ng libspeechd2"

here=$(cd "$(dirname "$0")" && pwd)
bundle=""
x11=0
sound=0
speech=0
start=1
dry=0
package_mode=0
previous_version=""

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf '!!! %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

# Every change goes through run: printed instead of done with --dry-run.
run() {
  if [ "$dry" -eq 0 ]; then "$@"; return; fi
  printf '+'
  for arg in "$@"; do
    case "$arg" in *[[:space:]]*|"") printf " '%s'" "$arg" ;; *) printf ' %s' "$arg" ;; esac
  done
  printf '\n'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) [ $# -ge 2 ] || usage 2; bundle=$2; shift ;;
    --bundle=*) bundle=${1#--bundle=} ;;
    --x11) x11=1 ;;
    --sound) sound=1 ;;
    --speech) speech=1; sound=1 ;;
    --no-start) start=0 ;;
    --dry-run) dry=1 ;;
    --package-configure)
      package_mode=1
      if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then previous_version=$2; shift; fi ;;
    -h|--help) usage 0 ;;
    *) warn "unknown option: $1"; usage 2 ;;
  esac
  shift
done

case "$bundle" in ""|/*) ;; *) bundle=$PWD/$bundle ;; esac
cd /  # the kiosk user runs commands below; it may not read the caller's folder

if [ "$dry" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (or with sudo); --dry-run shows what it would do"
fi

systemd_running() { [ -d /run/systemd/system ]; }

if [ "$x11" -eq 1 ]; then display_unit=$X11_UNIT; other_unit=$SESSION_UNIT
else display_unit=$SESSION_UNIT; other_unit=$X11_UNIT; fi
if [ "$package_mode" -eq 1 ] && [ -L "/etc/systemd/system/graphical.target.wants/$X11_UNIT" ]; then
  # an upgrade of a machine set up with --x11 stays on X
  display_unit=$X11_UNIT; other_unit=$SESSION_UNIT
fi

# --- 1. packages and the bundle to install ---------------------------------------------------
if [ "$package_mode" -eq 0 ]; then
  if dpkg-query -W -f='${Status}' "$APP" 2>/dev/null | grep -q "install ok installed"; then
    die "the $APP package is installed: upgrade it with apt or dpkg, not with this script"
  fi
  [ -n "$bundle" ] || bundle=$(cd "$here/../.." && pwd)/dist/$APP
  if [ ! -x "$bundle/kiosk" ] || [ ! -d "$bundle/_internal" ]; then
    die "no bundle at $bundle (build it with packaging/build-bundle.sh, or pass --bundle DIR)"
  fi
  sample=$here/../kiosk.toml.sample
  [ -f "$sample" ] || die "missing $sample"
  version=$("$bundle/kiosk" --version 2>/dev/null || echo "kiosk (version unknown)")
  say "installing $version from $bundle"

  packages="$RUN_PACKAGES"
  if [ "$x11" -eq 1 ]; then packages="$packages $X11_PACKAGES"; else packages="$packages $WAYLAND_PACKAGES"; fi
  [ "$sound" -eq 1 ] && packages="$packages $SOUND_PACKAGES"
  [ "$speech" -eq 1 ] && packages="$packages $SPEECH_PACKAGES"
  # shellcheck disable=SC2086  # word splitting wanted: a list of package names
  say "Debian packages:" $packages
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages
else
  bundle=$OPT
  sample=/usr/share/$APP/kiosk.toml.sample
fi

# --- 2. the kiosk user ---------------------------------------------------------------------
if getent passwd "$USER_NAME" >/dev/null 2>&1; then
  say "user $USER_NAME exists"
else
  say "creating the locked system user $USER_NAME"
  run useradd --system --user-group --home-dir "$VAR" --no-create-home --shell /bin/sh \
    --comment "Lobby kiosk" "$USER_NAME"
fi
# No password at all: the account cannot be logged in to, only started by systemd.
run usermod --lock "$USER_NAME"
# video: Debian's cage (wlroots through libseat) may use seatd, which lets the video group
# open the screen and input devices; render and audio: the GPU and sound where logind's
# device ACLs for the session do not apply.
for group in video render audio; do
  if getent group "$group" >/dev/null 2>&1; then run usermod --append --groups "$group" "$USER_NAME"; fi
done

# --- 3. folders and settings ---------------------------------------------------------------
run install -d -o "$USER_NAME" -g "$USER_NAME" -m 0750 "$VAR"
run install -d -o root -g "$USER_NAME" -m 0750 "$ETC"
if [ -e "$CONFIG" ]; then
  say "keeping $CONFIG"
else
  say "creating $CONFIG from the sample: edit it (site_id, kiosk_id, timezone, database_url)"
  run install -o root -g "$USER_NAME" -m 0640 "$sample" "$CONFIG"
fi

units="$SESSION_UNIT $X11_UNIT $SYNC_UNIT $MESSAGES_UNIT"
was_active=""
if systemd_running; then
  for unit in $units; do
    if systemctl is-active --quiet "$unit" 2>/dev/null; then was_active="$was_active $unit"; fi
  done
fi

# --- 4. the bundle ---------------------------------------------------------------------------
if [ "$package_mode" -eq 0 ]; then
  if [ -n "$was_active" ]; then
    say "stopping$was_active"
    # shellcheck disable=SC2086
    run systemctl stop $was_active
  fi
  say "copying the bundle to $OPT"
  run install -d -m 0755 "$(dirname "$OPT")"
  run rm -rf "$OPT.new" "$OPT.old"
  run cp -a "$bundle" "$OPT.new"
  run chown -R root:root "$OPT.new"
  run chmod -R u+rwX,go+rX,go-w "$OPT.new"
  if [ -e "$OPT" ]; then run mv "$OPT" "$OPT.old"; fi
  run mv "$OPT.new" "$OPT"
  run rm -rf "$OPT.old"

  # --- 5. units (the .deb puts them in /lib/systemd/system itself) -----------------------
  for unit in $units; do
    run install -m 0644 "$here/$unit" "/etc/systemd/system/$unit"
  done
fi

if systemd_running; then run systemctl daemon-reload; fi
run systemctl mask getty@tty1.service
if systemctl is-enabled --quiet display-manager.service 2>/dev/null; then
  warn "a display manager is enabled: it would compete for the screen; disabling it"
  run systemctl disable display-manager.service
fi
if [ "$(systemctl get-default 2>/dev/null || true)" != "graphical.target" ]; then
  run systemctl set-default graphical.target
fi
run systemctl disable --quiet "$other_unit" 2>/dev/null || true
run systemctl enable --quiet "$display_unit"

# `kiosk` as the kiosk user, with the units' environment.
as_kiosk() {
  run runuser -u "$USER_NAME" -- env KIOSK_CONFIG="$CONFIG" XDG_DATA_HOME="$VAR" \
    QT_QPA_PLATFORM=offscreen "$OPT/kiosk" "$@"
}

# The services that need a setting run only where it is set: the settings read once.
shown=""
if [ "$dry" -eq 0 ]; then
  shown=$(runuser -u "$USER_NAME" -- env KIOSK_CONFIG="$CONFIG" XDG_DATA_HOME="$VAR" \
    "$OPT/kiosk" config show 2>/dev/null || true)
fi
# wanted UNIT PATTERN WHY-NOT: enable UNIT when a line of the settings matches PATTERN.
wanted() {
  if printf '%s\n' "$shown" | grep -Eq "$2"; then
    run systemctl enable --quiet "$1"; return 0
  fi
  say "$3: $1 stays disabled (enable it once it is)"
  run systemctl disable --quiet "$1" 2>/dev/null || true
  return 1
}
sync_wanted=0
if wanted "$SYNC_UNIT" '^fhir_base_url = "..*"' "fhir_base_url is not set"; then sync_wanted=1; fi
messages_wanted=0
if wanted "$MESSAGES_UNIT" '^(smtp_url = "..*"|sms_gateway = "(kannel|twilio)")' \
    "neither smtp_url nor sms_gateway is set"; then messages_wanted=1; fi

# --- 6. database, start, check ---------------------------------------------------------------
say "migrating the database"
as_kiosk db upgrade || warn "kiosk db upgrade failed (see above); the kiosk retries on start"

if [ "$start" -eq 1 ] && systemd_running; then
  if [ "$package_mode" -eq 1 ] && [ -z "$previous_version" ]; then
    say "installed: reboot (or systemctl start $display_unit) to start the kiosk on tty1"
  elif [ "$(tty 2>/dev/null || true)" = /dev/tty1 ]; then
    warn "running on tty1, which the kiosk takes over: reboot to start it"
  else
    say "starting $display_unit"
    run systemctl restart "$display_unit"
    if [ "$sync_wanted" -eq 1 ]; then run systemctl restart "$SYNC_UNIT"; fi
    if [ "$messages_wanted" -eq 1 ]; then run systemctl restart "$MESSAGES_UNIT"; fi
  fi
fi

say "kiosk doctor"
if as_kiosk doctor; then
  say "done"
else
  warn "kiosk doctor reported problems (exit $?): see its table above"
fi
