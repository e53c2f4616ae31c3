#!/bin/sh
# Start sshd with this target's host key from the fleet volume (written by fleet-init).
set -eu
name="${TARGET_NAME:?set TARGET_NAME to this target's service name}"
key="/fleet-hosts/${name}_ed25519_key"
[ -f "$key" ] || { echo "sshd-target: $key is missing; did fleet-init run?" >&2; exit 1; }
# sshd insists on a private host key that only root can read.
install -m 0600 -o root -g root "$key" /etc/ssh/ssh_host_ed25519_key
exec /usr/sbin/sshd -D -e
