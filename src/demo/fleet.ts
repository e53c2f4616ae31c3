/** Writes the demo's config directory: a small fleet on the local sshd, keys, known_hosts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface DemoFleet {
  configDir: string;
  keysDir: string;
}

export function writeDemoFleet(
  root: string,
  opts: { port: number; username: string; userPrivateKey: string; hostPublicKey: string },
): DemoFleet {
  const configDir = join(root, 'config');
  const keysDir = join(root, 'keys');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(root, 'secrets'), { recursive: true, mode: 0o700 });
  writeFileSync(join(keysDir, 'demo_ed25519'), opts.userPrivateKey, { mode: 0o600 });
  const [type, key] = opts.hostPublicKey.split(/\s+/);
  writeFileSync(join(keysDir, 'known_hosts'), `[127.0.0.1]:${opts.port} ${type} ${key}\n`);
  const host = (alias: string, tags: string[], description: string): Record<string, unknown> => ({
    alias,
    host: '127.0.0.1',
    port: opts.port,
    credentials: 'demo',
    tags,
    description,
  });
  writeFileSync(
    join(configDir, 'servers.yml'),
    stringify({
      hosts: [
        host('web1', ['web', 'prod'], 'Front web server (demo: the local sshd)'),
        host('web2', ['web', 'prod'], 'Second web server (demo: the local sshd)'),
        host('db1', ['db', 'prod'], 'Database server (demo: the local sshd)'),
      ],
    }),
  );
  writeFileSync(
    join(configDir, 'credentials.yml'),
    stringify({ entries: [{ name: 'demo', username: opts.username, key_path: 'demo_ed25519' }] }),
  );
  writeFileSync(
    join(configDir, 'policy.yml'),
    stringify({
      known_hosts_path: '../keys/known_hosts',
      limits: {
        max_seconds: 30,
        max_output_bytes: 65536,
        deny_substrings: ['rm -rf /', 'mkfs', 'dd if=/dev/zero', 'shutdown', 'reboot'],
      },
      rules: [
        {
          name: 'read-only-inspection',
          action: 'allow',
          aliases: ['*'],
          commands: ['uptime', 'hostname', 'whoami', 'date', 'uname *', 'df -h*', 'echo *'],
        },
        { name: 'db-maintenance-window', action: 'allow', tags: ['db'], commands: ['sleep *'] },
      ],
      overrides: { tags: { db: { max_seconds: 2 } } },
    }),
  );
  return { configDir, keysDir };
}
