#!/usr/bin/env bash
# Creates .venv with eventcrm and its development tools installed; installs Debian's
# python3-venv first when this Python cannot make virtual environments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

python=${PYTHON3:-python3}
venv="$root/.venv"
stamp="$venv/.installed"

command -v "$python" >/dev/null 2>&1 || apt_install python3 python3-venv
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "eventcrm needs Python 3.11 or newer; $("$python" --version 2>&1) found"

if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install "python$ver-venv" || apt_install python3-venv
    "$python" -m venv "$venv" || die "could not create $venv"
  fi
fi

if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  say "installing eventcrm into $venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e "$root[dev]"
  touch "$stamp"
fi
