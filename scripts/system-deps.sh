#!/usr/bin/env bash
# The system programs the tests drive for real, installed when missing (Debian's apt):
#   browser  Chromium and its fonts (the sketchbook in a browser; `make bench` too)
#   farm     redis-server and rabbitmq-server (the render farm's brokers; the tests start
#            throwaway servers of their own, so the system's RabbitMQ service is stopped),
#            and iproute2's `ip` (the machine-loss test's network namespace)
#   node     Node.js (templates/static/layers.js run outside a browser)
# Usage: scripts/system-deps.sh [GROUP...]   (default: all three)
# As root: apt-get update and install what is missing. Otherwise: one line naming the
# packages to install, exit 1. SITEGEN_SKIP_BROWSER=1, SITEGEN_SKIP_FARM=1 and
# SITEGEN_SKIP_NODE=1 skip the tests of a group, and then its packages are not needed.
set -euo pipefail

has_program() { command -v "$1" >/dev/null 2>&1; }
has_package() {
  if has_program dpkg-query; then
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
  else  # not Debian: look for the fonts themselves
    has_program fc-list && fc-list 2>/dev/null | grep -qi dejavu
  fi
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(browser farm node)
missing=()
for group in "${groups[@]}"; do
  case "$group" in
    browser)
      [ "${SITEGEN_SKIP_BROWSER:-}" = 1 ] && continue
      has_program chromium || missing+=(chromium)
      has_package fonts-dejavu-core || missing+=(fonts-dejavu-core) ;;
    farm)
      [ "${SITEGEN_SKIP_FARM:-}" = 1 ] && continue
      has_program redis-server || missing+=(redis-server)
      has_program rabbitmq-server || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] \
        || missing+=(rabbitmq-server)
      has_program ip || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2) ;;
    node)
      [ "${SITEGEN_SKIP_NODE:-}" = 1 ] && continue
      has_program node || missing+=(nodejs) ;;
    *) echo "system-deps.sh: unknown group '$group' (browser, farm, node)" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ "$(id -u)" != 0 ] || ! has_program apt-get; then
  echo "error: the tests need system packages; install them (as root): apt-get install" \
       "--no-install-recommends ${missing[*]}  (or skip their tests:" \
       "SITEGEN_SKIP_BROWSER=1, SITEGEN_SKIP_FARM=1, SITEGEN_SKIP_NODE=1; see README)" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
case " ${missing[*]} " in
  *" rabbitmq-server "*)  # its postinst may start the system node (port 5672, epmd 4369)
    if has_program systemctl && [ -d /run/systemd/system ]; then
      systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
    elif has_program service; then
      service rabbitmq-server stop >/dev/null 2>&1 || true
    fi ;;
esac
for program in chromium redis-server rabbitmq-server node; do  # what apt just installed must now be found
  case " ${missing[*]} " in
    *" ${program/node/nodejs} "*) has_program "$program" || {
      echo "error: apt-get installed ${program/node/nodejs} but '$program' is not on PATH" >&2
      exit 1; } ;;
  esac
done
