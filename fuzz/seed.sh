#!/usr/bin/env bash
# Builds each fuzz target's seed corpus from the repository's own packs, profiles and
# fixtures (corpus/<target>/). Run from anywhere; the corpora are not committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
c="$here/corpus"
mkdir -p "$c"/{pack,profile,config,launch,args,jq,server_hello}
n=0
seed() { # target, prefix byte (octal, or ""), file
  n=$((n + 1))
  if [ -n "$2" ]; then { printf "\\$2"; cat "$3"; } >"$c/$1/seed-$n"; else cp "$3" "$c/$1/seed-$n"; fi
}
for f in "$repo"/packs/*.yaml "$repo"/tests/fixtures/bad/*.yaml; do seed pack "" "$f"; done
find "$repo/examples" "$repo/tests/fixtures" -name 'shipcheck*.yaml' | while read -r f; do seed profile "" "$f"; done
# config: the first byte picks the reader (0 json, 1 json5, 2 yaml, 3 toml, 4 env, 5 ini,
# 6 nginx, 7 Caddyfile).
find "$repo/tests/fixtures" "$repo/examples" -type f | while read -r f; do
  case "$f" in
    *.service) seed launch 000 "$f" ;;
    *compose*.y*ml) seed launch 001 "$f" ;;
    *.json) seed config 000 "$f" ;;
    *.json5) seed config 001 "$f" ;;
    *.yaml|*.yml) seed config 002 "$f" ;;
    *.toml) seed config 003 "$f" ;;
    *.env|*/.env) seed config 004 "$f" ;;
    */proxy/*Caddyfile|*.caddy) seed config 007 "$f" ;;
    *.ini|*.conf) seed config 005 "$f"; seed config 006 "$f" ;;
  esac
done
printf '\006# configuration file /etc/nginx/nginx.conf:\nhttp { include conf.d/*.conf; map $http_authorization $ok { "Bearer x" 1; default 0; }\n upstream app { server 127.0.0.1:8080; }\n server { listen [::]:443 ssl default_server; server_name *.example.com ~^a\\d+$; add_header "X-A" '"'"'b c'"'"'; location / { limit_req zone=z; proxy_pass http://app; } } }\n# configuration file /etc/nginx/conf.d/x.conf:\nserver { return 301 https://$host$request_uri; }\n' >"$c/config/seed-nginx"
printf 'relay --ws-port 7330 -vp 80 --admin-token /etc/t --trust-anchor a --trust-anchor=b RUST_LOG=x' >"$c/args/seed-1"
printf "RUST_LOG=debug relay '--federation-token' \"s e\" --port=1 -- rest" >"$c/args/seed-2"
# jq: the expressions the built-in packs use, each with a small input.
grep -hoE "(query|jq|json|when): *'[^']+'" "$repo"/packs/*.yaml | sed -E "s/^[a-z]+: *'(.*)'$/\1/" | sort -u | while read -r q; do
  n=$((n + 1)); printf '%s\0{"a": [1, {"b": "c"}], "enabled": true}' "$q" >"$c/jq/seed-$n"
done
printf '[range(10)] | map(. * 2) | add\0null' >"$c/jq/seed-range"
printf 'reduce .[] as $x (0; . + $x)\0[1,2,3]' >"$c/jq/seed-reduce"
# server_hello: a ServerHello for TLS 1.2, and an alert.
printf '\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\xc0\x2f\x00' >"$c/server_hello/seed-hello"
printf '\x15\x03\x03\x00\x02\x02\x28' >"$c/server_hello/seed-alert"
for t in "$c"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
