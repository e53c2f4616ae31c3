/**
 * Long command lines are decided on the decision thread (src/policy/off-thread.ts): the same
 * decision as in-line, field for field, and really made there. From sources the thread runs
 * decide-thread.ts through tsx; the built server runs the .js beside it.
 */
import { describe, expect, it } from 'vitest';
import { policyFileSchema } from '../../../src/config/schema.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { decideOffThread, decisionThread, INLINE_MAX_LENGTH } from '../../../src/policy/off-thread.js';

const engine = new PolicyEngine(
  policyFileSchema.parse({
    limits: { deny_substrings: ['reboot'] },
    rules: [
      { name: 'ro', action: 'allow', commands: ['uptime*', 'ls *', 'echo *', 'grep *'] },
      { name: 'no-rm', action: 'deny', commands: ['rm *'] },
    ],
  }),
);
const target = { alias: 'web-1', tags: [] };

describe('decisions off the event loop', () => {
  it('sends long lines and many-command lines to the thread, keeps ordinary ones in-line', () => {
    expect(decideOffThread('ls -la /var/log | grep x')).toBe(false);
    expect(decideOffThread('x'.repeat(INLINE_MAX_LENGTH + 1))).toBe(true);
    expect(decideOffThread('uptime;'.repeat(20))).toBe(true);
  });

  it('decides a long line on the thread exactly as in-line', async () => {
    const before = decisionThread.answered;
    const commands = [
      'uptime;'.repeat(300),
      `${'ls /var/log && '.repeat(100)}rm -r /tmp/x`,
      `echo ${'a'.repeat(4000)}`,
      `${'grep x /var/log/syslog | '.repeat(50)}sh`,
      `sh -c '${'ls; '.repeat(60)}'`,
    ];
    for (const command of commands)
      expect(await engine.decideAsync(target, command)).toEqual(engine.decide(target, command));
    expect(decisionThread.answered - before).toBe(commands.length);
  });

  it('keeps deciding after a reload released the old policy', async () => {
    const command = 'uptime;'.repeat(50);
    engine.release();
    const before = decisionThread.answered;
    expect(await engine.decideAsync(target, command)).toEqual(engine.decide(target, command));
    expect(decisionThread.answered - before).toBe(1);
  });

  it('a policy of many chunks (created in slices, shipped as JSON) decides there as in-line, order kept', async () => {
    // ~300 KB of rules: many 16 KB chunks; the admitting rule is near the end, a deny rule after it.
    const rules = Array.from({ length: 1500 }, (_, i) => ({
      name: `r${i}`,
      action: 'allow' as const,
      commands: [`systemctl status unit-${i}-*`, `journalctl -u unit-${i}`],
    }));
    const big = await PolicyEngine.create(
      policyFileSchema.parse({
        version: 2,
        limits: { deny_substrings: [] },
        rules: [...rules, { name: 'no-stop', action: 'deny', commands: ['systemctl stop *'] }],
      }),
    );
    const before = decisionThread.answered;
    for (const command of [
      Array.from({ length: 20 }, (_, i) => `systemctl status unit-${1490 + (i % 10)}-a`).join('; '),
      Array.from({ length: 20 }, () => 'systemctl stop x').join('; '),
    ]) {
      const there = await big.decideAsync(target, command);
      expect(there).toEqual(big.decide(target, command));
    }
    expect(decisionThread.answered - before).toBe(2);
    big.release();
  });
});
