#!/usr/bin/env bash
# Starts or stops two throw-away PostgreSQL clusters on loopback for shipcheck's tests.
#   test-postgres.sh start DIR STRICT_PORT LAX_PORT
#   test-postgres.sh stop DIR
# strict: ssl on, ssl_min_protocol_version TLSv1.2, scram-sha-256, hostssl only (plaintext
#         rejected); superuser `postgres` with password `$STRICT_PASSWORD` (default below).
# lax:    ssl off, md5, TLSv1 allowed, `trust` for 127.0.0.1 and 0.0.0.0/0.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed: run scripts/install-test-deps.sh" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
if [ "$cmd" = stop ]; then
  for c in strict lax; do
    [ -f "$dir/$c/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/$c" -m fast -w stop >/dev/null 2>&1 || true
  done
  exit 0
fi
strict_port=${3:?} lax_port=${4:?}
password=${STRICT_PASSWORD:-strict-pg-CANARY-9e8d7c6b5a}
mkdir -p "$dir"
chown postgres "$dir"
for c in strict lax; do
  as_pg "$bin/initdb" -D "$dir/$c" -U postgres --auth=trust -E UTF8 >/dev/null
done
# strict
(cd "$dir/strict" && openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 30 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null)
chown postgres "$dir/strict/server.key" "$dir/strict/server.crt"
chmod 600 "$dir/strict/server.key"
cat >> "$dir/strict/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $strict_port
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = '$dir/strict/server.crt'
ssl_key_file = '$dir/strict/server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
CONF
cat > "$dir/strict/pg_hba.conf" <<HBA
local     all all                trust
hostssl   all all 127.0.0.1/32   scram-sha-256
hostnossl all all 127.0.0.1/32   reject
HBA
# lax
cat >> "$dir/lax/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $lax_port
unix_socket_directories = '$dir'
ssl = off
ssl_min_protocol_version = 'TLSv1'
password_encryption = 'md5'
CONF
cat > "$dir/lax/pg_hba.conf" <<HBA
local all all                trust
host  all all 127.0.0.1/32   trust
host  all all 0.0.0.0/0      trust
HBA
for c in strict lax; do
  as_pg "$bin/pg_ctl" -D "$dir/$c" -l "$dir/$c.log" -w -t 30 start >/dev/null
done
as_pg "$bin/psql" -q -h "$dir" -p "$strict_port" -U postgres -c "ALTER USER postgres PASSWORD '$password'" >/dev/null
