#!/usr/bin/env bash
# Installs what hotline needs, idempotently: system packages, the Python env, Asterisk.
# Safe to run again: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

need=()
for pair in debootstrap:debootstrap sipp:sip-tester espeak-ng:espeak-ng sox:sox ffmpeg:ffmpeg baresip:baresip-core \
            unshare:util-linux convert:imagemagick chromium:chromium \
            systemd-analyze:systemd logrotate:logrotate; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v kamailio >/dev/null 2>&1 || need+=(kamailio)   # the SIP proxy of a cluster (cluster/)
# Chinese glyphs for the pages rendered in headless Chromium (wallboard screenshots)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if ((${#need[@]})); then
  step "system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

step "python env (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.hotline-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test,bench]'
  echo "$want" > "$stamp"
fi
echo "python env ready: $(.venv/bin/python --version)"

step "asterisk"
.venv/bin/hotline asterisk install
