/**
 * Regression test (was policy-stdin-shell.test.ts until the fix below landed).
 *
 * Found by fuzzing the policy engine (fuzz.test.ts, helpers/deny-payloads.ts): a shell that
 * reads its PROGRAM FROM STDIN runs text the engine only ever treats as data. The engine
 * follows `sh -c STRING`, `eval`, `env -S`, substitutions and wrappers, but not:
 *
 *   - a pipe into a shell:        echo 'r""eboot' | sh -c sh     (or `| sh`, `| bash`)
 *   - a here-doc to a shell:      sh <<EOF ⏎ reboot ⏎ EOF
 *   - a here-string to a shell:   sh <<<reboot
 *
 * 1. deny_substrings are bypassed when the text is quoted once for the first shell and
 *    unquoted by the second: in `echo 'r""eboot' | sh -c sh` the engine sees the literal
 *    `r""eboot` (single quotes keep the double quotes), the second sh runs `reboot`. Allowed
 *    today by DEFAULT_TEST_POLICY (test/helpers/fleet.ts: `echo *`, `printf *`, `sh -c *`), as
 *    are `echo 're$@boot' | sh -c sh`, `printf '%s\n' 're\boot' | sh -c sh`,
 *    `echo 'rm -rf $@/' | sh -c sh` and `sh -c "echo 'r\"\"eboot' | sh"` (checked with dash:
 *    `echo 'ec""ho hi' | sh -c sh` prints hi). fast-check's first counterexample (allow-everything
 *    policy): "echo 'DD i$@f=/dev/zero o\<newline>f=/dev/sda' | sh".
 * 2. deny RULES (anchored globs such as `reboot*`) miss even the plain forms `echo reboot | sh`,
 *    `sh <<EOF\nreboot\nEOF`, `sh <<<reboot` whenever an allow rule permits a bare shell.
 *
 * No text filter can see every program piped into an interpreter (base64, printf assembly),
 * so the fix (now in place) treats "a shell whose program is its stdin" as what it is:
 *
 * - src/policy/normalize.ts wrapperViews(): for a COMMAND_STRING_RUNNERS word with no `-c`
 *   flag and no script operand (`sh`, `bash -s`, `sh -c sh`'s inner `sh`), report
 *   `readsStdin: true` (also through `sh -c` strings, which the engine already re-analyses).
 * - src/policy/command-parse.ts: keep here-doc bodies (readHeredocBodies() discards them) and
 *   here-string words (`<<<`, currently plain text) on the segment as `stdinText: string[]`.
 * - src/policy/engine.ts analyse()/denyForms(): when a segment's peeled command reads stdin,
 *   analyse each `stdinText` as an inner command line (deny substrings and deny rules, as for
 *   `sh -c`); when such a segment is fed by a pipe (it is not the first of its pipeline), deny
 *   it as rule `shell_from_stdin` unless an allow rule with `allow_substitution: true`
 *   explicitly matches it — its program is the upstream output, which no policy can see.
 *   "Explicitly" means by a pattern that is not only `*` and `?`. The engine also analyses
 *   the upstream commands' arguments and stdin text as the piped program (best effort: it
 *   catches `echo`/`printf '%s\n'`/`cat <<EOF`, not computed output such as `base64 -d`).
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
      rules: [{ name: 'anything', action: 'allow', commands: ['*'], allow_substitution: true }],
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
  // No deny substrings here: only rule 6 (shell_from_stdin) stands between the pipe and the host.
  const catchAll = new PolicyEngine(
    policyFileSchema.parse({
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

describe('deny rules see programs fed to a shell on stdin', () => {
  const engine = new PolicyEngine(
    policyFileSchema.parse({
      rules: [
        { name: 'no-reboot', action: 'deny', commands: ['reboot*'] },
        { name: 'tools', action: 'allow', commands: ['echo *', 'sh', 'bash', 'sh <<*'], allow_substitution: true },
      ],
    }),
  );
  for (const command of [
    'echo reboot | sh',
    "echo 're''boot' | bash",
    'sh <<EOF\nreboot\nEOF',
    "sh <<'EOF'\nre''boot\nEOF",
    'sh <<<reboot',
    "sh <<<'re''boot'",
  ]) {
    it(`denies ${JSON.stringify(command)}`, () => {
      expect(engine.decide(TARGET, command).allowed).toBe(false);
    });
  }
});
