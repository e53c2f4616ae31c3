/**
 * The one-machine demo (`npm start`): a local SSH server, a generated fleet and the real MCP
 * client, end to end, with both SSH servers it can use, and OTel sent with --otlp.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TEST_POLICY, makeFleet } from '../helpers/fleet.js';
import { CLI_PATH } from '../helpers/mcp-session.js';
import { startSshd } from '../helpers/sshd.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

function runDemo(args: string[]): Promise<{ code: number | null; out: string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI_PATH, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', (code) => resolve({ code, out: stdout + stderr, stdout, stderr }));
  });
}

function expectFullStory(out: string): void {
  for (const step of ['An allowed command', 'A denied command', 'A bypass attempt', 'hits max_seconds', 'Fan-out']) {
    expect(out).toContain(step);
  }
  expect(out).toMatch(/stderr lines: +\d+ \(0 not JSON\)/);
  expect(out).toMatch(/policy decisions: +6 \(2 denied\)/);
  expect(out).toMatch(/executions audited: +4 \(1 timed out\)/);
  expect(out).toMatch(/security events: +1 \(command_bypass_attempt\)/);
  // Under root OpenSSH will not deliver the kill, and the result says so instead of claiming it.
  expect(out).toMatch(/\[db1\] timed out \((process killed|kill signal sent but not confirmed)/);
  expect(out).toContain('tag web: 2 succeeded, 0 failed, 0 denied of 2');
  // The live stderr lines are shown as the orchestrator writes them.
  expect(out).toMatch(/stderr │ \{"type":"audit",/);
}

describe('demo', () => {
  it('runs the whole scripted session on the embedded ssh2 server and sends OTel with --otlp', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const { code, out } = await runDemo(['--embedded-sshd', '--otlp', receiver.url]);
      expect(code, out).toBe(0);
      expect(out).toContain('embedded ssh2 server');
      // The embedded server delivers the kill signal, so the timeout really ends the process.
      expect(out).toContain('[db1] timed out (process killed)');
      expectFullStory(out);
      expect(receiver.logs.filter((r) => r.eventName === 'mcp_ssh.audit')).toHaveLength(4);
      expect(receiver.spans.filter((s) => s.name === 'ssh_task')).toHaveLength(4);
    } finally {
      await receiver.close();
    }
  });

  it.runIf(existsSync('/usr/sbin/sshd'))('runs the whole scripted session on OpenSSH when installed', async () => {
    const { code, out } = await runDemo(['--openssh']);
    expect(code, out).toBe(0);
    expect(out).toContain('OpenSSH sshd');
    expectFullStory(out);
    // The temporary fleet (with its private key) is gone once the demo ends.
    const configDir = /config:\s+(\S+)/.exec(out)?.[1];
    expect(configDir, out).toBeDefined();
    expect(existsSync(dirname(configDir as string))).toBe(false);
  });

  it("drives an existing fleet with --config-dir, passing the server's stderr lines through unchanged", async () => {
    const sshd = await startSshd();
    try {
      const fleet = makeFleet(
        [sshd],
        [
          { alias: 'web1', sshd, tags: ['web'] },
          { alias: 'web2', sshd, tags: ['web'] },
          { alias: 'db1', sshd, tags: ['db'] },
        ],
        { ...DEFAULT_TEST_POLICY, overrides: { tags: { db: { max_seconds: 2 } } } },
      );
      const { code, stdout, stderr } = await runDemo(['--config-dir', fleet.configDir, '--raw-stderr']);
      expect(code, stdout + stderr).toBe(0);
      expect(stdout).toContain('(existing fleet)');
      expect(stdout).not.toContain('stderr │');
      // stderr carries exactly the server's JSON lines, as Docker's log driver would see them.
      const lines = stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => l.type === 'audit')).toHaveLength(4);
      expect(lines.filter((l) => l.type === 'policy_decision' && l.allowed === false)).toHaveLength(2);
      expect(lines).toContainEqual(expect.objectContaining({ type: 'audit', alias: 'db1', timeout: true }));
    } finally {
      await sshd.stop();
    }
  });
});
