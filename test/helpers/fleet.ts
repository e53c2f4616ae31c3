/**
 * Writes a real config directory (servers.yml, credentials.yml, policy.yml, keys/, secrets/,
 * known_hosts) for one or more test sshd instances, as an operator would lay it out.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TestSshd } from './sshd.js';

export interface FleetHost {
  alias: string;
  sshd: TestSshd;
  tags?: string[];
  credentials?: string;
  /** Override the `host` written to servers.yml (defaults to the sshd's address). */
  host?: string;
  port?: number;
}

export interface Fleet {
  root: string;
  configDir: string;
  keysDir: string;
  secretsDir: string;
  knownHostsPath: string;
  writePolicy(policy: Record<string, unknown>): void;
  writeServers(hosts: FleetHost[]): void;
}

export const DEFAULT_TEST_POLICY = {
  limits: { max_seconds: 10, max_output_bytes: 65536, deny_substrings: ['rm -rf /', 'reboot', 'shutdown*', 'mkfs '] },
  rules: [
    {
      name: 'read-only',
      action: 'allow',
      aliases: ['*'],
      commands: ['echo *', 'hostname', 'uptime*', 'whoami', 'id', 'cat /etc/hostname', 'true', 'false', 'ls*'],
    },
    {
      name: 'test-helpers',
      action: 'allow',
      aliases: ['*'],
      commands: ['sleep *', 'exit *', 'sh -c *', 'head -c *', 'yes*', 'seq *', 'printf *'],
    },
    { name: 'no-rm', action: 'deny', aliases: ['*'], commands: ['rm *'] },
  ],
};

export function makeFleet(
  sshds: TestSshd[],
  hosts: FleetHost[],
  policy: Record<string, unknown> = DEFAULT_TEST_POLICY,
): Fleet {
  const root = mkdtempSync(join(tmpdir(), 'mcp-ssh-fleet-'));
  const configDir = join(root, 'config');
  const keysDir = join(root, 'keys');
  const secretsDir = join(root, 'secrets');
  for (const d of [configDir, keysDir, secretsDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const first = sshds[0];
  if (!first) throw new Error('makeFleet needs at least one sshd');
  // All test sshds share the same generated user keys (see makeUserKeys).
  for (const [name, path] of Object.entries(first.userKeys)) copyFileSync(path, join(keysDir, name));
  writeFileSync(join(secretsDir, 'test_passphrase'), `${first.passphrase}\n`, { mode: 0o600 });
  const knownHostsPath = join(keysDir, 'known_hosts');
  writeFileSync(knownHostsPath, sshds.map((s) => s.knownHostsLine).join('\n') + '\n');
  const username = first.username;
  writeFileSync(
    join(configDir, 'credentials.yml'),
    stringify({
      entries: [
        { name: 'ed25519', username, key_path: 'ed25519' },
        { name: 'ecdsa', username, key_path: 'ecdsa' },
        { name: 'rsa', username, key_path: 'rsa' },
        { name: 'ed25519_pass', username, key_path: 'ed25519_pass', key_passphrase_secret: 'test_passphrase' },
        { name: 'unauthorized', username, key_path: 'unauthorized' },
      ],
    }),
  );
  const fleet: Fleet = {
    root,
    configDir,
    keysDir,
    secretsDir,
    knownHostsPath,
    writePolicy: (p) =>
      writeFileSync(join(configDir, 'policy.yml'), stringify({ known_hosts_path: knownHostsPath, ...p })),
    writeServers: (hs) =>
      writeFileSync(
        join(configDir, 'servers.yml'),
        stringify({
          hosts: hs.map((h) => ({
            alias: h.alias,
            host: h.host ?? h.sshd.address,
            port: h.port ?? h.sshd.port,
            credentials: h.credentials ?? 'ed25519',
            tags: h.tags ?? [],
            description: `test host ${h.alias}`,
          })),
        }),
      ),
  };
  fleet.writePolicy(policy);
  fleet.writeServers(hosts);
  return fleet;
}
