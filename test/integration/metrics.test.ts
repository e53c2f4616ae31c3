/**
 * Prometheus metrics scraped over HTTP after a scripted session against a real sshd; values
 * checked, and the exposition checked by `promtool check metrics` where promtool is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { freePort, startSshd, type TestSshd } from '../helpers/sshd.js';

const PROMTOOL = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

/** Value of one sample, e.g. sample(text, 'ssh_commands_total', { alias: 'web1', status: 'success' }). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(m[3]);
  }
  return undefined;
}

describe('Prometheus metrics', () => {
  let sshd: TestSshd;
  let s: McpSession;
  let url: string;
  let text: string;

  beforeAll(async () => {
    sshd = await startSshd();
    const fleet = makeFleet(
      [sshd],
      [
        { alias: 'web1', sshd },
        { alias: 'locked', sshd, credentials: 'unauthorized' },
      ],
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    s = await startSession(fleet.configDir, { args: ['--metrics-addr', `127.0.0.1:${port}`] });
    await s.call('ssh_run', { alias: 'web1', command: 'echo one' });
    await s.call('ssh_run', { alias: 'web1', command: 'echo two' });
    await s.call('ssh_run', { alias: 'web1', command: "sh -c 'exit 3'" });
    await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /' });
    await s.call('ssh_run', { alias: 'web1', command: "r''eboot" });
    await s.call('ssh_run', { alias: 'locked', command: 'echo x' });
    await s.call('ssh_reload_config');
    text = await (await fetch(url)).text();
  });
  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it('counts commands by alias and status', () => {
    expect(sample(text, 'ssh_commands_total', { alias: 'web1', status: 'success' })).toBe(2);
    expect(sample(text, 'ssh_commands_total', { alias: 'web1', status: 'failure' })).toBe(1);
    expect(sample(text, 'ssh_commands_total', { alias: 'web1', status: 'denied' })).toBe(2);
    expect(sample(text, 'ssh_commands_total', { alias: 'locked', status: 'error' })).toBe(1);
  });

  it('records durations, decisions, violations, auth failures, reloads and sessions', () => {
    expect(sample(text, 'ssh_command_duration_seconds_count', { alias: 'web1' })).toBe(3);
    expect(sample(text, 'ssh_command_duration_seconds_bucket', { alias: 'web1', le: '+Inf' })).toBe(3);
    expect(sample(text, 'ssh_policy_decisions_total', { decision: 'allow', rule: 'read-only' })).toBe(3);
    expect(sample(text, 'ssh_policy_decisions_total', { decision: 'allow', rule: 'test-helpers' })).toBe(1);
    expect(sample(text, 'ssh_policy_decisions_total', { decision: 'deny', rule: 'deny_substrings' })).toBe(2);
    expect(sample(text, 'ssh_policy_violations_total', { violation_type: 'command_denied' })).toBe(2);
    expect(sample(text, 'ssh_policy_violations_total', { violation_type: 'command_bypass_attempt' })).toBe(1);
    expect(sample(text, 'ssh_auth_failures_total', { alias: 'locked' })).toBe(1);
    expect(sample(text, 'ssh_config_reloads_total')).toBe(1);
    expect(sample(text, 'ssh_active_sessions')).toBe(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('serves only /metrics', async () => {
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
  });

  it.runIf(PROMTOOL !== '' || process.env.CI === 'true')('passes promtool check metrics', () => {
    expect(PROMTOOL, 'promtool is required under CI (Debian package prometheus)').not.toBe('');
    const out = execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  });
});

describe('a busy --metrics-addr port', () => {
  it('leaves MCP serving, with a JSON error line saying what to do', async () => {
    const sshd = await startSshd();
    const fleet = makeFleet([sshd], [{ alias: 'web1', sshd }]);
    // Hold the port with another listener first.
    const { createServer } = await import('node:net');
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    const s = await startSession(fleet.configDir, { args: ['--metrics-addr', `127.0.0.1:${port}`] });
    try {
      const r = await s.call('ssh_run', { alias: 'web1', command: 'echo still serving' });
      expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: 'still serving\n' });
      await s.waitForLine((l) => l.type === 'error' && l.msg === 'metrics_unavailable');
      expect(s.lines()).toContainEqual(
        expect.objectContaining({
          type: 'error',
          msg: 'metrics_unavailable',
          error: expect.stringContaining(String(port)),
        }),
      );
    } finally {
      await s.close();
      holder.close();
      await sshd.stop();
    }
  });
});
