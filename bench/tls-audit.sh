#!/usr/bin/env bash
# Benchmark: stands up N loopback TLS endpoints with nginx (half modern TLS 1.2/1.3, half
# legacy TLS 1.0-1.2 with every cipher), then times a TLS audit (protocols, cipher scan,
# certificate) and an HTTP headers audit of all of them with shipcheck, and, when installed,
# testssl.sh on one endpoint of each kind for comparison. Loopback only; stops nginx at exit.
#   bench/tls-audit.sh [N] [CONCURRENCY]
set -euo pipefail
n=${1:-20}
jobs=${2:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/shipcheck"
[ -x "$bin" ] || (cd "$root" && cargo build --release --quiet)
command -v nginx >/dev/null || { echo "nginx missing: scripts/install-test-deps.sh" >&2; exit 1; }
dir=$(mktemp -d)
trap 'nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s stop 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
mkdir -p tmp && chmod 777 tmp
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 20 -extfile leaf.ext 2>/dev/null
base=$(( 20000 + RANDOM % 20000 ))
{
  echo "worker_processes 2; pid $dir/nginx.pid; error_log $dir/error.log warn;"
  echo "events { worker_connections 1024; }"
  echo "http { access_log off; client_body_temp_path $dir/tmp/b; proxy_temp_path $dir/tmp/p; fastcgi_temp_path $dir/tmp/f; uwsgi_temp_path $dir/tmp/u; scgi_temp_path $dir/tmp/s;"
  for i in $(seq 0 $((n - 1))); do
    port=$((base + i))
    if [ $((i % 2)) -eq 0 ]; then
      echo "server { listen 127.0.0.1:$port ssl; ssl_certificate $dir/leaf.pem; ssl_certificate_key $dir/leaf.key; ssl_protocols TLSv1.2 TLSv1.3; add_header Strict-Transport-Security max-age=63072000 always; add_header X-Frame-Options DENY always; add_header X-Content-Type-Options nosniff always; return 200 ok; }"
    else
      echo "server { listen 127.0.0.1:$port ssl; ssl_certificate $dir/leaf.pem; ssl_certificate_key $dir/leaf.key; ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers ALL:@SECLEVEL=0; return 200 ok; }"
    fi
    echo "localhost:$port" >> tls-targets.txt
    echo "https://localhost:$port/" >> http-targets.txt
  done
  echo "}"
} > nginx.conf
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
sleep 0.5
measure() { # label, command...
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  if command -v /usr/bin/time >/dev/null; then
    /usr/bin/time -f "%M" -o "$dir/rss" "$@" > "$dir/out" 2>/dev/null || true
    rss="$(tail -n 1 "$dir/rss") KiB"
  else
    "$@" > "$dir/out" 2>/dev/null || true
    rss="n/a"
  fi
  end=$(date +%s.%N)
  printf '%-58s %8.2f s   max RSS %s\n' "$label" "$(echo "$end - $start" | bc)" "$rss"
}
echo "endpoints: $n (half modern, half legacy) on 127.0.0.1, concurrency $jobs, $(nproc) cores"
measure "shipcheck probe tls: $n endpoints, protocols+ciphers+cert" "$bin" probe tls --targets tls-targets.txt --ca ca.pem -j "$jobs" --format json
grep -c '"tls.protocol.tls10_accepted"' "$dir/out" | sed 's/^/  endpoints flagged tls10_accepted: /'
measure "shipcheck probe tls: $n endpoints, no cipher scan" "$bin" probe tls --targets tls-targets.txt --ca ca.pem -j "$jobs" --no-ciphers --format json
measure "shipcheck probe http: $n endpoints, headers/HSTS/CORS" "$bin" probe http --targets http-targets.txt --ca ca.pem -j "$jobs" --format json
measure "shipcheck probe tls: 1 legacy endpoint" "$bin" probe tls "localhost:$((base + 1))" --ca ca.pem --format json
if command -v testssl >/dev/null; then
  measure "testssl.sh --protocols --each-cipher: 1 legacy endpoint" testssl --quiet --color 0 --warnings off -p -E "127.0.0.1:$((base + 1))"
  measure "testssl.sh --protocols --each-cipher: 1 modern endpoint" testssl --quiet --color 0 --warnings off -p -E "127.0.0.1:$base"
else
  echo "testssl.sh not installed (apt-get install testssl.sh): skipped"
fi
