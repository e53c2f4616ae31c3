/**
 * PENDING — fails until src/tasks/executor.ts redacts `reason` in the command_bypass_attempt
 * event (see the report). Rename to `security-redaction.test.ts` once fixed.
 *
 * A secret typed into a command that is caught as a bypass attempt must not reach stderr in
 * any field: the event's `reason` quotes the normalised command, which still holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

describe('secrets in denied commands never reach stderr', () => {
  let sshd: TestSshd;
  let s: McpSession;

  beforeAll(async () => {
    sshd = await startSshd();
    s = await startSession(makeFleet([sshd], [{ alias: 'ok', sshd }]).configDir);
  });
  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it.each([
    ["r''eboot --password=hunter2", 'hunter2'],
    ["echo hi; r''m -rf /tmp/x --token s3cr3t-t0ken", 's3cr3t-t0ken'],
    ["DB_PASSWORD=pa55w0rd r''eboot", 'pa55w0rd'],
  ])(
    '%s: denied, reported as command_bypass_attempt, secret absent from every stderr line',
    async (command, secret) => {
      const before = s.lines().length;
      const r = await s.call('ssh_run', { alias: 'ok', command });
      expect(r.isError, textOf(r)).toBe(true);
      // The denial's policy_decision line follows the security event on stderr.
      for (
        let i = 0;
        i < 500 &&
        !s
          .lines()
          .slice(before)
          .some((l) => l.type === 'policy_decision');
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
      const event = s
        .lines()
        .slice(before)
        .find((l) => l.event_type === 'command_bypass_attempt');
      expect(event, 'no command_bypass_attempt line').toBeDefined();
      expect(String(event?.original_command)).toContain('[REDACTED]');
      expect(String(event?.reason)).toContain('[REDACTED]');
      expect(s.rawStderr()).not.toContain(secret);
    },
  );
});
