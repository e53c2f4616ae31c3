/**
 * The one-machine demo (`npm start`): a local SSH server, a generated fleet and the real MCP
 * client, end to end, with both SSH servers it can use, and OTel sent with --otlp.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/mcp-session.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

function runDemo(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI_PATH, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => resolve({ code, out }));
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
  expect(out).toContain('[db1] timed out (process killed)');
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
  });
});
