#!/usr/bin/env bash
# Build the lobby kiosk as a PyInstaller one-folder bundle:
#
#   packaging/build-bundle.sh [--with-demo] [OUTDIR]        (default: dist/)
#
# --with-demo adds Faker, which `kiosk demo` and `kiosk demo-data` need for the demo practice's
# names (8 MB); the production bundle leaves it out, and those commands say so (exit 2).
#
# Result: OUTDIR/lobby-kiosk/, with the executable OUTDIR/lobby-kiosk/kiosk (every subcommand
# of the `kiosk` command: run, doctor, sync, db upgrade, ...) and _internal/ beside it. Copy the
# whole folder (packaging/linux/install.sh and build-deb.sh put it in /opt/lobby-kiosk).
#
# Needs the project's virtual environment with the dev extra (`./dev setup`, or
# `pip install -e .[dev]`: PyInstaller comes with it) and objdump (Debian: binutils).
# Build on the OS and CPU kind the kiosk runs on: the bundle holds that machine's Python and Qt
# and needs a glibc at least as new as the build machine's.
#
# Environment: PYTHON (default .venv/bin/python, else python3), WORKDIR (PyInstaller's work
# folder, default build/pyinstaller), PYINSTALLER_ARGS (extra arguments, e.g. --clean).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

with_demo=0
case "${1:-}" in
  --with-demo) with_demo=1; shift ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  -*) printf 'build-bundle.sh: unknown option %s (see --help)\n' "$1" >&2; exit 2 ;;
esac
outdir=${1:-$root/dist}
case "$outdir" in /*) ;; *) outdir=$PWD/$outdir ;; esac
workdir=${WORKDIR:-$root/build/pyinstaller}
if [ -n "${PYTHON:-}" ]; then py=$PYTHON
elif [ -x "$root/.venv/bin/python" ]; then py=$root/.venv/bin/python
else py=python3; fi

say() { printf '==> %s\n' "$*" >&2; }

"$py" -c 'import PyInstaller' 2>/dev/null || {
  say "PyInstaller is not installed for $py: run ./dev setup (or pip install -e '.[dev]')"
  exit 2; }
command -v objdump >/dev/null 2>&1 || {
  say "objdump not found: PyInstaller needs it (Debian: apt-get install binutils)"; exit 2; }

cd "$root"
# The catalogs ship as .po sources; the bundle carries the compiled .mo files.
for template in locales/*.pot; do  # one domain per template: kiosk, reception
  "$py" -m babel.messages.frontend -q compile -d locales -D "$(basename "$template" .pot)"
done

spec_args=()
kind="the bundle"
if [ "$with_demo" -eq 1 ]; then spec_args=(--with-demo); kind="the bundle with demo data"; fi
say "building $kind into $outdir/lobby-kiosk (work folder $workdir)"
start=$(date +%s)
# shellcheck disable=SC2086
"$py" -m PyInstaller --noconfirm --log-level "${PYINSTALLER_LOG_LEVEL:-WARN}" \
  --distpath "$outdir" --workpath "$workdir" ${PYINSTALLER_ARGS:-} \
  "$here/pyinstaller/lobby-kiosk.spec" -- "${spec_args[@]}"
test -x "$outdir/lobby-kiosk/kiosk" || { say "no executable at $outdir/lobby-kiosk/kiosk"; exit 1; }
say "built in $(( $(date +%s) - start )) s: $(du -sh "$outdir/lobby-kiosk" | cut -f1) in $outdir/lobby-kiosk"
