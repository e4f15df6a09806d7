#!/usr/bin/env bash
# Starts or stops a throw-away nginx on loopback for shipcheck's tests and benchmarks.
#   test-nginx.sh start DIR HTTPS_PORT HTTP_PORT LEGACY_TLS_PORT LEGACY_HTTP_PORT WEAK_CERT_PORT [NULL_PORT]
#   test-nginx.sh stop DIR
# "modern" (HTTPS_PORT/HTTP_PORT): TLS 1.2/1.3 with AEAD suites only, HSTS, security
# headers, strict CORS, bearer auth on /api/, limit_req (429) on /limited, /health ok,
# plain HTTP redirecting to https. "legacy" (LEGACY_*): TLS 1.0-1.2 with every cipher at
# OpenSSL security level 0, CORS reflecting any origin with credentials, no headers, no auth,
# no rate limit, failing /health, plain HTTP serving content. WEAK_CERT_PORT serves a
# self-signed RSA-1024 certificate signed with SHA-1. NULL_PORT (optional) accepts only
# TLS 1.2 NULL suites (no encryption), and nothing else.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
if [ "$cmd" = stop ]; then
  if [ -f "$dir/nginx.pid" ]; then
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s stop 2>/dev/null || kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  fi
  exit 0
fi
https_port=${3:?} http_port=${4:?} legacy_port=${5:?} legacy_http_port=${6:?} weak_port=${7:?}
null_port=${8:-}
null_vhost=""
if [ -n "$null_port" ]; then
  null_vhost="server {
    listen 127.0.0.1:$null_port ssl;
    ssl_certificate $dir/leaf.pem;
    ssl_certificate_key $dir/leaf.key;
    ssl_protocols TLSv1.2;
    ssl_ciphers NULL-SHA256:NULL-SHA:@SECLEVEL=0;
    location / { return 200 \"null\\n\"; }
  }"
fi
command -v nginx >/dev/null || { echo "nginx is not installed: run scripts/install-test-deps.sh" >&2; exit 1; }
mkdir -p "$dir/tmp" "$dir/www"
echo ok > "$dir/www/limited"
chmod 0777 "$dir/tmp"
cd "$dir"
# A private CA and a leaf for localhost / 127.0.0.1.
if [ ! -f leaf.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 120 -subj "/CN=shipcheck test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 90 -extfile leaf.ext 2>/dev/null
  openssl req -x509 -newkey rsa:1024 -sha1 -nodes -keyout weak.key -out weak.pem -days 90 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
fi
cat > nginx.conf <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type text/plain;
  limit_req_zone \$binary_remote_addr zone=burst:1m rate=1r/s;
  map \$http_authorization \$auth_ok { "Bearer good-test-token-0123456789abcdef" 1; default 0; }
  map \$http_origin \$cors_origin { "https://app.example.com" \$http_origin; default ""; }

  server {
    listen 127.0.0.1:$https_port ssl;
    server_name localhost;
    ssl_certificate $dir/leaf.pem;
    ssl_certificate_key $dir/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
    add_header X-Frame-Options DENY always;
    add_header X-Content-Type-Options nosniff always;
    add_header Access-Control-Allow-Origin \$cors_origin always;
    location = /health { default_type application/json; return 200 '{"status":"ok"}'; }
    location /api/ { if (\$auth_ok = 0) { return 401; } default_type application/json; return 200 '{"data":1}'; }
    # limit_req acts after the rewrite phase, so this location serves a file instead of returning.
    location = /limited { limit_req zone=burst burst=5 nodelay; limit_req_status 429; root $dir/www; }
    location / { return 200 "hello\n"; }
  }
  server {
    listen 127.0.0.1:$http_port;
    return 301 https://localhost:$https_port\$request_uri;
  }
  server {
    listen 127.0.0.1:$legacy_port ssl;
    server_name localhost;
    ssl_certificate $dir/leaf.pem;
    ssl_certificate_key $dir/leaf.key;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers ALL:@SECLEVEL=0;
    add_header Access-Control-Allow-Origin \$http_origin always;
    add_header Access-Control-Allow-Credentials true always;
    location = /health { default_type application/json; return 503 '{"status":"down"}'; }
    location / { return 200 "legacy\n"; }
  }
  server {
    listen 127.0.0.1:$legacy_http_port;
    return 200 "plain content\n";
  }
  server {
    listen 127.0.0.1:$weak_port ssl;
    ssl_certificate $dir/weak.pem;
    ssl_certificate_key $dir/weak.key;
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0;
    location / { return 200 "weak\n"; }
  }
  $null_vhost
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -t -q
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
for _ in $(seq 1 50); do
  [ -s "$dir/nginx.pid" ] && exit 0
  sleep 0.1
done
echo "nginx did not start; see $dir/error.log" >&2
exit 1
