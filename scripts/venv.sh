#!/usr/bin/env bash
# Creates .venv with eventcrm and its development tools installed, every package at the
# version and hash that requirements.txt locks (`make lock` refreshes it); installs Debian's
# python3-venv first when this Python cannot make virtual environments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

python=${PYTHON3:-python3}
venv="$root/.venv"
lock="$root/requirements.txt"
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

# The stamp holds the digest of the lock and pyproject.toml it was installed from, so a
# changed lock (a pull, a branch switch, `make lock`) reinstalls whatever the file times say.
want=$(cat "$lock" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || say "note: requirements.txt is resolved for Python 3.11; installing it into $("$venv/bin/python" --version)"
  say "installing eventcrm and the packages requirements.txt locks into $venv"
  # The locked pip first (hash-checked, on its own), so that it installs the rest.
  awk '/^pip==/ { on = 1; print; next } on && /^ +--hash=/ { print; next } { on = 0 }' "$lock" >"$venv/.pip-lock.txt"
  "$venv/bin/python" -m pip install -q --require-hashes --no-deps -r "$venv/.pip-lock.txt"
  rm -f "$venv/.pip-lock.txt"
  "$venv/bin/python" -m pip install -q --require-hashes -r "$lock"
  # Whatever the lock does not name goes (a package the lock dropped), so .venv is the lock.
  extra=$("$venv/bin/python" -I - "$lock" <<'EOF'
import re, sys
from importlib.metadata import distributions
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
locked = {norm(n) for n in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", open(sys.argv[1]).read(), re.M)}
print(*sorted({norm(d.metadata["Name"]) for d in distributions() if d.metadata["Name"]} - locked - {"eventcrm"}))
EOF
  )
  if [ -n "$extra" ]; then
    say "removing what requirements.txt does not lock: $extra"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip uninstall -q -y $extra
  fi
  # eventcrm itself, built by the locked setuptools rather than whatever is newest.
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation --check-build-dependencies -e "$root"
  echo "$want" >"$stamp"
fi
