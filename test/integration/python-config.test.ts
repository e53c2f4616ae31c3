/**
 * A config directory written like the Python project's examples (test/fixtures/python-compat/v1:
 * empty strings for unset fields, no key files, known_hosts only where its container has it)
 * starts the built server, driven by the official MCP client, and plans with Python's meaning.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/python-compat/v1', import.meta.url));

describe('the Python project’s kind of config directory, served', () => {
  let root: string;
  let s: McpSession;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mcp-ssh-pyconfig-'));
    const configDir = path.join(root, 'config');
    await cp(FIXTURE, configDir, { recursive: true });
    // As in its examples: a known_hosts path that exists only inside its container.
    const policyFile = path.join(configDir, 'policy.yml');
    await writeFile(
      policyFile,
      (await readFile(policyFile, 'utf8')).replace('known_hosts_path: ""', 'known_hosts_path: "/app/keys/known_hosts"'),
    );
    await mkdir(path.join(root, 'keys'));
    await mkdir(path.join(root, 'secrets'));
    s = await startSession(configDir);
  });

  afterAll(async () => {
    await s?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('starts, with one config_warning per missing file and ignored key', async () => {
    await s.waitForLine((l) => l.msg === 'config_warning' && String(l.error).includes('/app/keys/known_hosts'));
    const warnings = s
      .lines()
      .filter((l) => l.msg === 'config_warning')
      .map((l) => String(l.error));
    expect(warnings.filter((w) => w.includes('key file'))).toHaveLength(2);
    expect(warnings.filter((w) => w.includes('is ignored: host keys are always verified'))).toHaveLength(3);
    expect((await s.call('ssh_ping')).isError).toBeFalsy();
  });

  it('plans as Python reads it: the built-in deny list, an override list replacing it, empty credentials as none', async () => {
    const plan = async (alias: string, command: string) =>
      (await s.call('ssh_plan', { alias, command })).structuredContent as { allowed: boolean; rule: string };
    expect(await plan('prod-web-1', 'uptime')).toMatchObject({ allowed: true });
    expect(await plan('prod-web-1', 'curl https://example.com')).toMatchObject({
      allowed: false,
      rule: 'deny_substrings',
    });
    expect(await plan('lab-box-1', 'curl https://example.com')).toMatchObject({ allowed: true });
    expect(await plan('lab-box-1', 'echo reboot')).toMatchObject({ allowed: false, rule: 'deny_substrings' });
    const orphan = await s.call('ssh_describe_host', { alias: 'orphan-1' });
    expect(orphan.structuredContent).toMatchObject({ host: { alias: 'orphan-1', credentials: null }, username: null });
  });

  it('a command to a host whose key file is missing fails at connect, naming the file', async () => {
    const r = await s.call('ssh_run', { alias: 'prod-web-1', command: 'uptime' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/key_path of credentials "prod-admin"|prod\/id_ed25519/);
  });
});
