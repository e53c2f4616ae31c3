#!/bin/sh
# One-shot: generate the demo fleet's keys once (idempotent).
#   /fleet-hosts:  <target>_ed25519_key (host keys), authorized_keys   -> mounted by the targets
#   /fleet-client: id_ed25519 (the orchestrator's login key), known_hosts -> mounted read-only
#                  by the orchestrator (uid 1000, the image's `node` user)
set -eu
targets="${FLEET_TARGETS:?list the target service names, e.g. \"target1 target2\"}"
client_uid="${CLIENT_UID:-1000}"
mkdir -p /fleet-hosts /fleet-client
if [ ! -f /fleet-client/id_ed25519 ]; then
  ssh-keygen -q -t ed25519 -N '' -C mcp-ssh-orchestrator -f /fleet-client/id_ed25519
fi
cp /fleet-client/id_ed25519.pub /fleet-hosts/authorized_keys
chmod 0644 /fleet-hosts/authorized_keys
: > /fleet-client/known_hosts.new
for t in $targets; do
  [ -f "/fleet-hosts/${t}_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$t" -f "/fleet-hosts/${t}_ed25519_key"
  printf '%s %s\n' "$t" "$(cut -d' ' -f1,2 "/fleet-hosts/${t}_ed25519_key.pub")" >> /fleet-client/known_hosts.new
done
mv /fleet-client/known_hosts.new /fleet-client/known_hosts
chown "$client_uid" /fleet-client/id_ed25519 /fleet-client/known_hosts
chmod 0600 /fleet-client/id_ed25519
chmod 0644 /fleet-client/known_hosts
echo "fleet-init: keys ready for: $targets"
