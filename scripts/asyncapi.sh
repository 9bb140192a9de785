#!/usr/bin/env bash
# Checks eventcrm's AsyncAPI document (streams/asyncapi.py) with the official AsyncAPI
# parser, @asyncapi/parser from npm, at the versions and integrity hashes that
# scripts/asyncapi/package-lock.json locks. Installs Debian's nodejs and npm first when
# they are missing, and runs `npm ci` when node_modules is absent or was installed from
# another lock. Without arguments it validates the document that `python -m
# streams.asyncapi` generates; with FILE arguments, those files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

dir="$here/asyncapi"
stamp="$dir/node_modules/.eventcrm-installed"

command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 18) ? 0 : 1)' \
  || die "the AsyncAPI parser needs Node.js 18.18 or newer; $(node --version) found"

# The stamp holds the digest of the manifest and lock node_modules was installed from, so a
# changed lock (a pull, a branch switch) reinstalls, and an interrupted install does too.
want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing the AsyncAPI parser that scripts/asyncapi/package-lock.json locks"
  # No install scripts: the parser needs none (one dependency's would only send analytics).
  npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
    || die "npm ci failed in $dir"
  echo "$want" >"$stamp"
fi

if [ $# -gt 0 ]; then
  exec node "$dir/validate.mjs" "$@"
fi
python="$root/.venv/bin/python"
[ -x "$python" ] || die "$python not found: run scripts/venv.sh (make venv) first"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && "$python" -m streams.asyncapi --out "$tmp/asyncapi.json")
say "validating the AsyncAPI document (python -m streams.asyncapi)"
node "$dir/validate.mjs" "$tmp/asyncapi.json"
