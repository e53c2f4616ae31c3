/**
 * Every security event the running server can emit through the MCP surface, read back from
 * its stderr with the exact fields of the contract: config reloads that name unsafe files or
 * secrets, key files swapped for symlinks at run time, bypass attempts, refused logins and
 * host keys, DNS lookups over the rate limit.
 */
import { copyFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, truncateSync, unlinkSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const MAX_FILE_SIZE = 10 * 1024 * 1024;

type Line = Record<string, unknown>;

/** Fields every security event line carries, whatever its type. */
const ENVELOPE = ['level', 'kind', 'type', 'event_type', 'ts', 'timestamp'];
/** Correlation ids that may ride along when the event happened inside a traced operation. */
const CORRELATION = ['trace_id', 'span_id'];

/** Asserts the line is a security event of `eventType` with exactly the envelope plus `fields`. */
function expectSecurityEvent(line: Line | undefined, eventType: string, fields: Record<string, unknown>): void {
  expect(line, `no ${eventType} line`).toBeDefined();
  const l = line as Line;
  expect(l).toMatchObject({ level: 'error', kind: 'security_audit', type: 'security_event', event_type: eventType });
  expect(l).toMatchObject(fields);
  const keys = Object.keys(l).filter((k) => !CORRELATION.includes(k));
  expect(keys.sort()).toEqual([...ENVELOPE, ...Object.keys(fields)].sort());
  // ts: Unix seconds as a float (microseconds); timestamp: the same instant in ISO 8601 UTC.
  expect(typeof l.ts).toBe('number');
  expect(String(l.ts)).toMatch(/^\d{10}(\.\d{1,6})?$/);
  expect(l.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(Math.abs(Date.parse(String(l.timestamp)) - (l.ts as number) * 1000)).toBeLessThan(1);
}

/**
 * The stderr lines from index `before` on, once one of them satisfies `last`. stderr and the
 * tool result travel on different pipes, so a result can arrive before the lines it caused.
 */
async function linesThrough(s: McpSession, before: number, last: (l: Line) => boolean): Promise<Line[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lines = s.lines().slice(before);
    if (lines.some(last)) return lines;
    if (Date.now() > deadline) throw new Error(`no matching stderr line; stderr:\n${s.rawStderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const reloadFailed = (l: Line): boolean => l.msg === 'config_reload_failed';
const auditOf =
  (taskId: string) =>
  (l: Line): boolean =>
    l.type === 'audit' && l.task_id === taskId;

function securityLines(lines: Line[], eventType: string): Line[] {
  return lines.filter((l) => l.type === 'security_event' && l.event_type === eventType);
}

describe('security events on stderr, through the MCP surface', () => {
  let sshd: TestSshd;
  let other: TestSshd;
  let third: TestSshd;
  let fleet: Fleet;
  let s: McpSession;
  let goodCredentials: string;
  let goodServers: string;
  let outside: string;

  beforeAll(async () => {
    [sshd, other, third] = await Promise.all([startSshd(), startSshd(), startSshd()]);
    fleet = makeFleet(
      [sshd, other, third],
      [
        { alias: 'ok', sshd },
        { alias: 'badauth', sshd, credentials: 'unauthorized' },
        // known_hosts below claims sshd's key for other's port: the key other offers mismatches.
        { alias: 'changed', sshd: other },
        // No known_hosts entry under the name "localhost".
        { alias: 'unknown', sshd, host: 'localhost' },
        // third's own key, marked @revoked.
        { alias: 'revoked', sshd: third },
        { alias: 'swap', sshd, credentials: 'swap' },
      ],
    );
    const [, type, key] = sshd.knownHostsLine.split(' ');
    writeFileSync(
      fleet.knownHostsPath,
      [sshd.knownHostsLine, `[127.0.0.1]:${other.port} ${type} ${key}`, `@revoked ${third.knownHostsLine}`].join('\n') +
        '\n',
    );
    // A key used by one alias only, so a run-time swap is not hidden by a pooled connection.
    copyFileSync(join(fleet.keysDir, 'ed25519'), join(fleet.keysDir, 'swap_key'));
    const credentialsPath = join(fleet.configDir, 'credentials.yml');
    const creds = parse(readFileSync(credentialsPath, 'utf8')) as { entries: Record<string, unknown>[] };
    creds.entries.push({ name: 'swap', username: sshd.username, key_path: 'swap_key' });
    writeFileSync(credentialsPath, stringify(creds));
    goodCredentials = readFileSync(credentialsPath, 'utf8');
    goodServers = readFileSync(join(fleet.configDir, 'servers.yml'), 'utf8');
    // A private key outside the keys directory, as a symlink target.
    outside = join(fleet.root, 'outside');
    mkdirSync(outside);
    copyFileSync(join(fleet.keysDir, 'ed25519'), join(outside, 'stolen_key'));
    s = await startSession(fleet.configDir);
  });

  afterAll(async () => {
    await s?.close();
    await Promise.all([sshd?.stop(), other?.stop(), third?.stop()]);
  });

  /** Writes credentials.yml with the good entries plus `extra`, reloads, returns the new stderr lines. */
  async function reloadWithCredentials(extra: Record<string, unknown>[]): Promise<{ text: string; lines: Line[] }> {
    const creds = parse(goodCredentials) as { entries: Record<string, unknown>[] };
    creds.entries.push(...extra.map((e) => ({ username: sshd.username, ...e })));
    writeFileSync(join(fleet.configDir, 'credentials.yml'), stringify(creds));
    const before = s.lines().length;
    try {
      const r = await s.call('ssh_reload_config');
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain('config NOT reloaded; generation 1 stays in force');
      return { text: textOf(r), lines: await linesThrough(s, before, reloadFailed) };
    } finally {
      writeFileSync(join(fleet.configDir, 'credentials.yml'), goodCredentials);
    }
  }

  it('key_path "../../etc/passwd": reload refused, path_traversal_attempt with every field', async () => {
    const { text, lines } = await reloadWithCredentials([{ name: 'evil', key_path: '../../etc/passwd' }]);
    expect(text).toMatch(/credentials\.yml:\d+.*entries\[\d+\]\.key_path/);
    expect(text).toContain('key_path "../../etc/passwd" contains ".."');
    const events = securityLines(lines, 'path_traversal_attempt');
    expect(events).toHaveLength(1);
    expectSecurityEvent(events[0], 'path_traversal_attempt', {
      attempted_path: '../../etc/passwd',
      resolved_path: resolve(fleet.keysDir, '../../etc/passwd'),
      reason: 'contains_traversal_pattern',
      base_dir: fleet.keysDir,
    });
    // The running config still serves commands.
    expect((await s.call('ssh_ping')).structuredContent).toMatchObject({ config_generation: 1 });
  });

  it('an absolute key_path outside the keys directory is a path_traversal_attempt too', async () => {
    const { lines } = await reloadWithCredentials([{ name: 'abs', key_path: '/etc/passwd' }]);
    expectSecurityEvent(securityLines(lines, 'path_traversal_attempt')[0], 'path_traversal_attempt', {
      attempted_path: '/etc/passwd',
      resolved_path: '/etc/passwd',
      reason: 'path_outside_allowed_directory',
      base_dir: fleet.keysDir,
    });
  });

  it('an over-long key_path is input_length_limit_exceeded', async () => {
    const long = 'k'.repeat(1025);
    const { text, lines } = await reloadWithCredentials([{ name: 'long', key_path: long }]);
    expect(text).toContain('is 1025 characters long: expected at most 1024');
    expectSecurityEvent(securityLines(lines, 'input_length_limit_exceeded')[0], 'input_length_limit_exceeded', {
      attempted_path: long,
      field: 'key_path',
      length: 1025,
      max_length: 1024,
    });
  });

  it('a servers.yml over 10 MiB: reload refused, file_size_limit_exceeded with sizes', async () => {
    const serversPath = join(fleet.configDir, 'servers.yml');
    truncateSync(serversPath, MAX_FILE_SIZE + 1);
    const before = s.lines().length;
    try {
      const r = await s.call('ssh_reload_config');
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(`is ${MAX_FILE_SIZE + 1} bytes: expected at most ${MAX_FILE_SIZE} bytes`);
      const events = securityLines(await linesThrough(s, before, reloadFailed), 'file_size_limit_exceeded');
      expect(events).toHaveLength(1);
      expectSecurityEvent(events[0], 'file_size_limit_exceeded', {
        attempted_path: serversPath,
        resolved_path: realpathSync(serversPath),
        file_size: MAX_FILE_SIZE + 1,
        max_size: MAX_FILE_SIZE,
      });
    } finally {
      writeFileSync(serversPath, goodServers);
    }
  });

  it('invalid secret names: invalid_secret_name, path_traversal_attempt for "../", input_length_limit_exceeded', async () => {
    const long = 's'.repeat(101);
    const { text, lines } = await reloadWithCredentials([
      { name: 'spaces', key_path: 'ed25519', password_secret: 'bad name!' },
      { name: 'escape', key_path: 'ed25519', key_passphrase_secret: '../escape' },
      { name: 'long', key_path: 'ed25519', password_secret: long },
    ]);
    expect(text).toContain('secret name "bad name!" is invalid: expected only letters, digits, "_" and "-"');
    const invalid = securityLines(lines, 'invalid_secret_name');
    expect(invalid.map((l) => l.attempted_path)).toEqual(['bad name!', '../escape']);
    expectSecurityEvent(invalid[0], 'invalid_secret_name', {
      attempted_path: 'bad name!',
      reason: 'contains_invalid_characters',
    });
    expectSecurityEvent(securityLines(lines, 'path_traversal_attempt')[0], 'path_traversal_attempt', {
      attempted_path: '../escape',
      resolved_path: resolve(fleet.secretsDir, '../escape'),
      reason: 'contains_traversal_pattern',
      base_dir: fleet.secretsDir,
    });
    expectSecurityEvent(securityLines(lines, 'input_length_limit_exceeded')[0], 'input_length_limit_exceeded', {
      attempted_path: long,
      field: 'secret_name',
      length: 101,
      max_length: 100,
    });
  });

  it('a key file that is a symlink out of the keys directory: file_validation_failed (reload)', async () => {
    const link = join(fleet.keysDir, 'linked_key');
    symlinkSync(join(outside, 'stolen_key'), link);
    try {
      const { text, lines } = await reloadWithCredentials([{ name: 'linked', key_path: 'linked_key' }]);
      expect(text).toContain('is a symlink to');
      expectSecurityEvent(securityLines(lines, 'file_validation_failed')[0], 'file_validation_failed', {
        attempted_path: 'linked_key',
        resolved_path: realpathSync(join(outside, 'stolen_key')),
        reason: 'path_is_symlink',
      });
    } finally {
      unlinkSync(link);
    }
  });

  it('a key_path naming a directory: file_validation_failed path_is_directory', async () => {
    mkdirSync(join(fleet.keysDir, 'a_dir'), { recursive: true });
    const { lines } = await reloadWithCredentials([{ name: 'dir', key_path: 'a_dir' }]);
    expectSecurityEvent(securityLines(lines, 'file_validation_failed')[0], 'file_validation_failed', {
      attempted_path: 'a_dir',
      resolved_path: realpathSync(join(fleet.keysDir, 'a_dir')),
      reason: 'path_is_directory',
    });
  });

  it('a key file swapped for a symlink after loading is refused at run time: tool error + file_validation_failed', async () => {
    const keyPath = join(fleet.keysDir, 'swap_key');
    unlinkSync(keyPath);
    symlinkSync(join(outside, 'stolen_key'), keyPath);
    const before = s.lines().length;
    const r = await s.call('ssh_run', { alias: 'swap', command: 'whoami' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain(`key_path "swap_key" is a symlink to ${realpathSync(join(outside, 'stolen_key'))}`);
    const lines = await linesThrough(s, before, auditOf((r.structuredContent as { task_id: string }).task_id));
    expectSecurityEvent(securityLines(lines, 'file_validation_failed')[0], 'file_validation_failed', {
      attempted_path: 'swap_key',
      resolved_path: realpathSync(join(outside, 'stolen_key')),
      reason: 'path_is_symlink',
    });
    expect(lines).toContainEqual(expect.objectContaining({ type: 'audit', alias: 'swap', exit_code: -1 }));
  });

  it('command_bypass_attempt carries original, normalized and blocked_pattern, with the secret redacted', async () => {
    const before = s.lines().length;
    const r = await s.call('ssh_run', { alias: 'ok', command: "r''eboot --password=hunter2" });
    expect(r.isError).toBe(true);
    // The denial's policy_decision line follows the security event.
    const lines = await linesThrough(s, before, (l) => l.type === 'policy_decision' && l.allowed === false);
    const events = securityLines(lines, 'command_bypass_attempt');
    expect(events).toHaveLength(1);
    expectSecurityEvent(events[0], 'command_bypass_attempt', {
      original_command: "r''eboot --password=[REDACTED]",
      normalized_command: 'reboot --password=[REDACTED]',
      blocked_pattern: 'reboot',
      reason: expect.any(String),
      alias: 'ok',
    });
    expect(lines).toContainEqual(expect.objectContaining({ type: 'policy_decision', alias: 'ok', allowed: false }));
    // No task was created for a denied command.
    expect(lines.filter((l) => l.type === 'audit')).toEqual([]);
  });

  it('authentication_failed names alias, host and the reason', async () => {
    const before = s.lines().length;
    const r = await s.call('ssh_run', { alias: 'badauth', command: 'whoami' });
    expect(r.isError).toBe(true);
    const taskId = (r.structuredContent as { task_id: string }).task_id;
    const events = securityLines(await linesThrough(s, before, auditOf(taskId)), 'authentication_failed');
    expect(events).toHaveLength(1);
    expectSecurityEvent(events[0], 'authentication_failed', {
      alias: 'badauth',
      hostname: '127.0.0.1',
      reason: expect.stringMatching(
        /^authentication failed for user "[^"]+" on 127\.0\.0\.1:\d+: check the credentials/,
      ),
      task_id: taskId,
    });
  });

  it.each([
    ['changed', 'host_key_mismatch', '127.0.0.1'],
    ['unknown', 'host_key_unknown', 'localhost'],
    ['revoked', 'host_key_revoked', '127.0.0.1'],
  ])('host_key_mismatch for alias %s has reason %s', async (alias, reason, hostname) => {
    const before = s.lines().length;
    const r = await s.call('ssh_run', { alias, command: 'whoami' });
    expect(r.isError).toBe(true);
    const taskId = (r.structuredContent as { task_id: string }).task_id;
    const events = securityLines(await linesThrough(s, before, auditOf(taskId)), 'host_key_mismatch');
    expect(events).toHaveLength(1);
    expectSecurityEvent(events[0], 'host_key_mismatch', { alias, hostname, reason, task_id: taskId });
  });
});

describe('dns_rate_limit_exceeded through ssh_plan', () => {
  let sshd: TestSshd;

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('a second lookup of the same name within a second is refused and reported once', async () => {
    const fleet = makeFleet([sshd], [{ alias: 'named', sshd, host: 'localhost' }], {
      ...DEFAULT_TEST_POLICY,
      network: { dns_max_per_second: 1, dns_cache_ttl: 0 },
    });
    const s = await startSession(fleet.configDir);
    try {
      const first = await s.call('ssh_plan', { alias: 'named', command: 'uptime' });
      expect(first.structuredContent).not.toHaveProperty('network_error');
      // Sequential plans a few milliseconds apart: the next lookups fall in the same second.
      const limited = await s.call('ssh_plan', { alias: 'named', command: 'uptime' });
      const again = await s.call('ssh_plan', { alias: 'named', command: 'uptime' });
      for (const r of [limited, again]) {
        expect(r.structuredContent).toMatchObject({
          network_error: "DNS lookups of 'localhost' exceed 1 per second; try again in a second.",
          would_run: false,
        });
      }
      await s.waitForLine((l) => l.event_type === 'dns_rate_limit_exceeded');
      const events = securityLines(s.lines(), 'dns_rate_limit_exceeded');
      expect(events).toHaveLength(1);
      expectSecurityEvent(events[0], 'dns_rate_limit_exceeded', { hostname: 'localhost', max_per_second: 1 });
    } finally {
      await s.close();
    }
  });
});
