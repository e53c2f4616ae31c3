/**
 * A dry run says what a run does: for each command, ssh_plan's verdict (allowed, rule, the
 * hash of the text sent, would_run) is compared with what ssh_run then did on a real sshd (its
 * policy_decision line, and whether an audit line shows the command ran). Both go through one
 * admission path (src/tasks/plan.ts); this holds them to it from the outside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

/** Allowed, denied, refused by the parser, nested, redirected, and quoted differently. */
const COMMANDS = [
  'echo hi',
  "echo 'a  b'",
  'echo "$HOME"',
  'echo $(id)',
  'echo `whoami`',
  'uptime',
  'uptime -p',
  'whoami; id',
  'whoami && hostname',
  'false || true',
  'ls /tmp | head -c 10',
  'ls > /tmp/plan-run-agree.out',
  'cat /etc/hostname',
  'cat /etc/shadow',
  'rm -rf /tmp/x',
  'sh -c "echo nested"',
  'sh -c "rm -rf /tmp/x"',
  'printf "%s\\n" a b',
  'seq 3',
  'reboot',
  'echo a; reboot',
  'shutdown -h now',
  'ls ${IFS}',
  'eval echo hi',
  'echo hi &',
  '(echo sub)',
  'echo hi # comment',
  'ls\ttmp',
  'exit 3',
  'nosuchprogram',
];

describe('ssh_plan agrees with ssh_run', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let s: McpSession;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet([sshd], [{ alias: 'web1', sshd, tags: ['web'] }]);
    s = await startSession(fleet.configDir);
  });
  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it('on every command: the same decision, rule and sent text, and it runs exactly when the plan says so', async () => {
    let ran = 0;
    let denied = 0;
    for (const command of COMMANDS) {
      const planned = (await s.call('ssh_plan', { alias: 'web1', command })).structuredContent as {
        allowed: boolean;
        rule: string;
        hash: string;
        sent_hash?: string;
        would_run: boolean;
      };
      const run = await s.call('ssh_run', { alias: 'web1', command });
      const decision = await s.waitForLine((l) => l.type === 'policy_decision' && l.hash === planned.hash);
      expect({ command, allowed: decision.allowed, rule: decision.rule, sent_hash: decision.sent_hash }).toEqual({
        command,
        allowed: planned.allowed,
        rule: planned.rule,
        sent_hash: planned.sent_hash,
      });
      if (planned.would_run) {
        const audit = await s.waitForLine((l) => l.type === 'audit' && l.hash === planned.hash);
        expect(audit.error ?? null, command).toBeNull();
        ran++;
      } else {
        expect(run.isError, command).toBe(true);
        denied++;
      }
      // Each command is planned and run once, so its lines are told apart by hash.
    }
    // The corpus must exercise both sides, or agreement proves little.
    expect(ran).toBeGreaterThan(5);
    expect(denied).toBeGreaterThan(5);
  });
});
