/**
 * Failure paths against real processes: timeouts, changed and unknown host keys, refused
 * authentication and connections, IPv6 loopback, fan-out over many aliases.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { freePort, startSshd, type TestSshd } from '../helpers/sshd.js';

describe('failure paths against real sshd instances', () => {
  let sshd: TestSshd;
  let other: TestSshd;
  let sshd6: TestSshd;
  let stranger: TestSshd;
  let fleet: Fleet;
  let s: McpSession;
  let closedPort: number;

  beforeAll(async () => {
    [sshd, other, sshd6, stranger] = await Promise.all([
      startSshd(),
      startSshd(),
      startSshd({ address: '::1' }),
      startSshd(),
    ]);
    closedPort = await freePort();
    const fanout = Array.from({ length: 12 }, (_, i) => ({
      alias: `node${String(i).padStart(2, '0')}`,
      sshd,
      tags: ['fleet'],
    }));
    fleet = makeFleet(
      [sshd, sshd6],
      [
        { alias: 'ok', sshd },
        { alias: 'slow', sshd, tags: ['slow'] },
        // `other` is a different sshd whose host key is not in known_hosts; pointed at with sshd's entry → mismatch.
        { alias: 'changed', sshd: other, host: '127.0.0.1' },
        // `stranger` has no known_hosts entry at all.
        { alias: 'unknown', sshd: stranger },
        { alias: 'badauth', sshd, credentials: 'unauthorized' },
        { alias: 'refused', sshd, port: closedPort },
        { alias: 'v6', sshd: sshd6 },
        ...fanout,
      ],
      { ...DEFAULT_TEST_POLICY, overrides: { tags: { slow: { max_seconds: 1 } } } },
    );
    // `changed`: claim that [127.0.0.1]:<other.port> has sshd's key, so other's real key mismatches.
    const [, type, key] = sshd.knownHostsLine.split(' ');
    writeFileSync(
      fleet.knownHostsPath,
      [sshd.knownHostsLine, sshd6.knownHostsLine, `[127.0.0.1]:${other.port} ${type} ${key}`].join('\n') + '\n',
    );
    s = await startSession(fleet.configDir);
  });

  afterAll(async () => {
    await s?.close();
    await Promise.all([sshd?.stop(), other?.stop(), sshd6?.stop(), stranger?.stop()]);
  });

  it('enforces max_seconds: the result says timeout and the remote process is killed', async () => {
    const r = await s.call('ssh_run', { alias: 'slow', command: 'sleep 37.25' });
    expect(r.structuredContent).toMatchObject({ timeout: true, cancelled: false, exit_code: -1 });
    const audit = await s.waitForLine((l) => l.type === 'audit' && l.alias === 'slow');
    expect(audit).toMatchObject({ timeout: true });
    expect(audit?.duration_ms).toBeLessThan(10_000);
    // sshd delivered the KILL signal: the remote sleep is gone.
    await new Promise((r) => setTimeout(r, 300));
    let survivors = '';
    try {
      survivors = execFileSync('pgrep', ['-f', 'sleep 37.25'], { encoding: 'utf8' });
    } catch {
      survivors = '';
    }
    expect(survivors.trim()).toBe('');
  });

  it('refuses a changed host key with a clear error and a host_key_mismatch security event', async () => {
    const r = await s.call('ssh_run', { alias: 'changed', command: 'hostname' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/HOST KEY MISMATCH for \[127\.0\.0\.1\]:\d+/);
    const ev = await s.waitForLine((l) => l.event_type === 'host_key_mismatch' && l.alias === 'changed');
    expect(ev).toMatchObject({ kind: 'security_audit', reason: 'host_key_mismatch' });
    // The audit line follows the security event on stderr.
    await s.waitForLine((l) => l.type === 'audit' && l.alias === 'changed');
    expect(s.lines()).toContainEqual(expect.objectContaining({ type: 'audit', alias: 'changed', exit_code: -1 }));
  });

  it('refuses an unknown host key (no auto-add) and says how to add it', async () => {
    const r = await s.call('ssh_run', { alias: 'unknown', command: 'hostname' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/is not in .*known_hosts.*ssh-keyscan/);
    await s.waitForLine(
      (l) => l.event_type === 'host_key_mismatch' && l.alias === 'unknown' && l.reason === 'host_key_unknown',
    );
  });

  it('reports an authentication failure as a tool error and an authentication_failed event', async () => {
    const r = await s.call('ssh_run', { alias: 'badauth', command: 'hostname' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/authentication failed for user/);
    await s.waitForLine((l) => l.event_type === 'authentication_failed' && l.alias === 'badauth');
  });

  it('reports a refused connection without hanging', async () => {
    const r = await s.call('ssh_run', { alias: 'refused', command: 'hostname' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/connection refused by 127\.0\.0\.1:\d+: is sshd running/);
    await s.waitForLine((l) => l.type === 'error' && l.msg === 'run_exception' && l.alias === 'refused');
    expect(s.lines()).toContainEqual(expect.objectContaining({ type: 'error', msg: 'run_exception' }));
  });

  it('connects over IPv6 loopback', async () => {
    const r = await s.call('ssh_run', { alias: 'v6', command: 'echo six' });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ stdout: 'six\n', target_ip: '::1' });
  });

  it('ssh_run_on_tag fans out over 12 aliases with one policy_decision and one audit line each', async () => {
    const before = s.lines().length;
    const r = await s.call('ssh_run_on_tag', { tag: 'fleet', command: 'echo fan' });
    expect(r.structuredContent, textOf(r)).toMatchObject({ hosts_total: 12, succeeded: 12, failed: 0, denied: 0 });
    const results = (r.structuredContent as { results: { alias: string; result: { stdout: string } }[] }).results;
    expect(results.map((x) => x.alias)).toEqual(
      Array.from({ length: 12 }, (_, i) => `node${String(i).padStart(2, '0')}`),
    );
    expect(results.every((x) => x.result.stdout === 'fan\n')).toBe(true);
    // Each alias's policy_decision comes before its audit line; node00..node11 run only here.
    await s.waitForLines((l) => l.type === 'audit' && /^node\d\d$/.test(String(l.alias)), 12);
    const lines = s.lines().slice(before);
    expect(lines.filter((l) => l.type === 'policy_decision')).toHaveLength(12);
    expect(lines.filter((l) => l.type === 'audit')).toHaveLength(12);
  });
});
