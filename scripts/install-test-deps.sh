#!/usr/bin/env bash
# Installs the real servers the tests run against (Debian packages): nginx, PostgreSQL,
# OpenSSL's command line (test certificates). Skips apt when everything is already there.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
[ -d /etc/ssl/certs ] || need+=(ca-certificates)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${need[*]}: run this script as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
