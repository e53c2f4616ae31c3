/**
 * Huge policy files (issue 14, item 7): a policy.yml of 9.5 MB and 118,000 rules took 26 s to
 * load and held the event loop for 16 s on ssh_reload_config, so every other request waited.
 * Now policy.yml has size limits (docs/policy.md, "Size limits") and loading runs on the config
 * thread, so:
 *
 * - a policy at every limit reloads while a cheap request (ssh_list_hosts) keeps answering,
 *   and the server's own event-loop measurement (nodejs_eventloop_lag_max_seconds on
 *   /metrics) shows no long block: about 20 ms measured on a busy 2-core machine, where the
 *   same reload used to hold the loop for about 0.6 s (it runs first, on a fresh server, as
 *   an operator's first large reload would);
 * - the 9.5 MB policy is refused at once, naming policy.yml and the limit, and the running
 *   config stays in force (it used to load, holding every request for 5-16 s);
 * - one byte over the limit is refused too.
 *
 * The bounds are generous for a loaded 2-core CI machine: what they catch is blocks of
 * hundreds of milliseconds, not a few.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_LIMITS } from '../../src/config/schema.js';
import { textOf } from '../helpers/mcp-session.js';
import { freePort } from '../helpers/sshd.js';
import { spawnServer, type ServerProcess } from './helpers/server-process.js';

/** The longest a cheap request may wait while a policy loads (the 9.5 MB policy made it 16 s). */
const MAX_CHEAP_REQUEST_MS = 1000;
/** The longest event-loop block the server may report during a reload at the limits. */
const MAX_LOOP_LAG_MS = 150;

const SMALL_POLICY = 'rules:\n  - name: small\n    action: allow\n    commands: ["uptime"]\n';

/** The issue's policy: 118,000 one-command rules, about 9.5 MB (under the 10 MiB file cap). */
function hugePolicy(): string {
  let out = 'rules:\n';
  for (let i = 0; i < 118_000; i++) {
    out += `  - name: rule-${i}\n    action: allow\n    commands: ["systemctl status svc-${i}"]\n`;
  }
  return out;
}

/**
 * A policy at every limit at once: 2000 rules of 2 aliases and 8 commands (20,000 patterns),
 * 1000 network addresses, padded with descriptions to 1 MiB exactly.
 */
function policyAtTheLimits(): string {
  const rule = (i: number, description: string): string =>
    [
      `  - name: rule-${i}`,
      `    action: ${i % 10 === 9 ? 'deny' : 'allow'}`,
      `    description: "${description}"`,
      `    aliases: ["web*", "db-${i}"]`,
      '    commands:',
      ...Array.from({ length: 8 }, (_, c) => `      - "systemctl status svc${i}-${c} *"`),
      '',
    ].join('\n');
  const network = [
    'network:',
    '  block_cidrs:',
    ...Array.from({ length: POLICY_LIMITS.networkAddresses }, (_, i) => `    - 10.${i >> 8}.${i & 255}.0/24`),
    'rules:',
    '',
  ].join('\n');
  const bare = network + Array.from({ length: POLICY_LIMITS.rules }, (_, i) => rule(i, '')).join('');
  const pad = Math.floor((POLICY_LIMITS.bytes - bare.length) / POLICY_LIMITS.rules);
  const text = network + Array.from({ length: POLICY_LIMITS.rules }, (_, i) => rule(i, 'x'.repeat(pad))).join('');
  return text + '#'.repeat(POLICY_LIMITS.bytes - text.length - 1) + '\n';
}

describe('huge policy files', () => {
  let root: string;
  let configDir: string;
  let metricsPort: number;
  let s: ServerProcess;

  const writePolicy = (text: string): void => writeFileSync(join(configDir, 'policy.yml'), text);

  /** nodejs_eventloop_lag_max_seconds since the previous scrape (prom-client resets it on each). */
  const loopLagMaxMs = async (): Promise<number> => {
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const value = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(metrics)?.[1];
    expect(value, metrics).toBeDefined();
    return 1000 * Number(value);
  };

  /** Reloads while ssh_list_hosts is called in a loop; the slowest answer among them. */
  const reloadWhileServing = async (): Promise<{
    reload: Awaited<ReturnType<ServerProcess['call']>>;
    slowest: number;
    calls: number;
  }> => {
    let done = false;
    let slowest = 0;
    let calls = 0;
    const reload = s.call('ssh_reload_config').finally(() => {
      done = true;
    });
    const cheap = (async () => {
      while (!done) {
        const started = performance.now();
        const r = await s.call('ssh_list_hosts');
        slowest = Math.max(slowest, performance.now() - started);
        calls++;
        expect(r.isError, textOf(r)).toBeFalsy();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const result = await reload;
    await cheap;
    return { reload: result, slowest, calls };
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mcp-ssh-huge-policy-'));
    configDir = join(root, 'config');
    mkdirSync(configDir);
    mkdirSync(join(root, 'keys'));
    writeFileSync(join(root, 'keys', 'known_hosts'), '');
    writeFileSync(join(configDir, 'servers.yml'), 'hosts:\n  - alias: web1\n    host: 127.0.0.1\n');
    writeFileSync(join(configDir, 'credentials.yml'), 'entries: []\n');
    writePolicy(SMALL_POLICY);
    metricsPort = await freePort();
    s = await spawnServer(configDir, {
      env: { OTEL_SDK_DISABLED: 'true' },
      args: ['--metrics-addr', `127.0.0.1:${metricsPort}`],
    });
    await s.call('ssh_list_hosts');
  });
  afterAll(async () => {
    await s?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('reloads a policy at every limit while cheap requests keep answering and the event loop stays free', async () => {
    writePolicy(policyAtTheLimits());
    await loopLagMaxMs(); // resets the maximum: what follows is the reload's
    const { reload, slowest, calls } = await reloadWhileServing();
    const lag = await loopLagMaxMs();
    expect(lag, 'longest event-loop block the server measured during the reload').toBeLessThan(MAX_LOOP_LAG_MS);
    expect(slowest, 'a cheap request waited').toBeLessThan(MAX_CHEAP_REQUEST_MS);
    expect(calls, 'the cheap requests ran during the reload').toBeGreaterThan(1);
    expect(reload.isError, textOf(reload)).toBeFalsy();
    expect(reload.structuredContent).toEqual({ reloaded: true, generation: 2, hosts: 1, rules: POLICY_LIMITS.rules });
    // The new policy decides: the last rule allows its commands, a deny rule denies.
    const allowed = await s.call('ssh_plan', { alias: 'web1', command: 'systemctl status svc1998-7 now' });
    expect(allowed.structuredContent).toMatchObject({ allowed: true, rule: 'rule-1998' });
    const denied = await s.call('ssh_plan', { alias: 'web1', command: 'systemctl status svc1999-0 now' });
    expect(denied.structuredContent).toMatchObject({ allowed: false, rule: 'rule-1999' });
  });

  it('refuses the 9.5 MB policy at once, naming policy.yml and the limit, and keeps serving the last good config', async () => {
    const huge = hugePolicy();
    expect(huge.length).toBeGreaterThan(9_000_000);
    writePolicy(huge);
    const { reload, slowest } = await reloadWhileServing();
    const text = textOf(reload);
    expect(reload.isError, text).toBe(true);
    expect(reload.structuredContent).toEqual({ reloaded: false, generation: 2, hosts: 1, rules: POLICY_LIMITS.rules });
    expect(text).toContain('config NOT reloaded; generation 2 stays in force');
    expect(text).toMatch(
      /policy\.yml: the file is \d+ bytes \(\d+\.\d\d MiB\): expected at most 1048576 bytes \(1 MiB\), the limit for policy\.yml/,
    );
    expect(text).toContain('see "Size limits" in docs/policy.md');
    expect(slowest, 'a cheap request waited').toBeLessThan(MAX_CHEAP_REQUEST_MS);
    // The policy at the limits still decides.
    const plan = await s.call('ssh_plan', { alias: 'web1', command: 'systemctl status svc1998-7 now' });
    expect(plan.structuredContent).toMatchObject({ allowed: true, rule: 'rule-1998' });
    const failed = await s.waitForLine((l) => l.type === 'error' && l.msg === 'config_reload_failed');
    expect(failed.issues).toEqual([expect.objectContaining({ file: 'policy.yml', path: '' })]);
  });

  it('refuses a policy one byte over the limit and keeps the policy at the limit in force', async () => {
    writePolicy(policyAtTheLimits() + '\n');
    const r = await s.call('ssh_reload_config');
    expect(r.isError, textOf(r)).toBe(true);
    expect(r.structuredContent).toEqual({ reloaded: false, generation: 2, hosts: 1, rules: POLICY_LIMITS.rules });
    expect(textOf(r)).toContain('policy.yml: the file is 1048577 bytes (1.00 MiB): expected at most 1048576 bytes');
  });
});
