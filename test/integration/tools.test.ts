/**
 * Every tool, driven through the official MCP SDK client over stdio against the built server,
 * which runs commands on a real OpenSSH sshd on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, textOf, type McpSession } from '../helpers/mcp-session.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

describe('MCP tools against a real sshd', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let s: McpSession;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'web1', sshd, tags: ['web', 'linux'] },
        { alias: 'web2', sshd, tags: ['web'], credentials: 'ecdsa' },
        { alias: 'db1', sshd, tags: ['db'], credentials: 'rsa' },
        { alias: 'vault1', sshd, tags: ['secure'], credentials: 'ed25519_pass' },
      ],
    );
    s = await startSession(fleet.configDir);
  });

  afterAll(async () => {
    await s?.close();
    await sshd?.stop();
  });

  it('lists every tool with schemas and annotations', async () => {
    const { tools } = await s.client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        'ssh_cancel',
        'ssh_cancel_async_task',
        'ssh_describe_host',
        'ssh_get_task_output',
        'ssh_get_task_result',
        'ssh_get_task_status',
        'ssh_list_hosts',
        'ssh_ping',
        'ssh_plan',
        'ssh_reload_config',
        'ssh_run',
        'ssh_run_async',
        'ssh_run_on_tag',
      ].sort(),
    );
    for (const t of tools) {
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.annotations?.readOnlyHint, t.name).toBeTypeOf('boolean');
      expect(t.description?.length, t.name).toBeGreaterThan(20);
    }
    expect(tools.find((t) => t.name === 'ssh_run')?.annotations?.destructiveHint).toBe(true);
    expect(tools.find((t) => t.name === 'ssh_list_hosts')?.annotations?.readOnlyHint).toBe(true);
  });

  it('ssh_ping answers with the version and host count', async () => {
    const r = await s.call('ssh_ping');
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ ok: true, hosts: 4, config_generation: 1 });
  });

  it('ssh_list_hosts and the ssh://hosts resource show the inventory, filtered by tag', async () => {
    const all = await s.call('ssh_list_hosts');
    expect((all.structuredContent as { hosts: { alias: string }[] }).hosts.map((h) => h.alias)).toEqual([
      'web1',
      'web2',
      'db1',
      'vault1',
    ]);
    const web = await s.call('ssh_list_hosts', { tag: 'web' });
    expect((web.structuredContent as { hosts: { alias: string }[] }).hosts.map((h) => h.alias)).toEqual([
      'web1',
      'web2',
    ]);
    const res = await s.client.readResource({ uri: 'ssh://hosts' });
    const first = res.contents[0];
    expect(first && 'text' in first ? JSON.parse(first.text).hosts.length : 0).toBe(4);
    const one = await s.client.readResource({ uri: 'ssh://host/db1' });
    const body = one.contents[0] && 'text' in one.contents[0] ? JSON.parse(one.contents[0].text) : {};
    expect(body).toMatchObject({ alias: 'db1', port: sshd.port, tags: ['db'], limits: { max_seconds: 10 } });
    const templates = await s.client.listResources();
    expect(templates.resources.map((r) => r.uri)).toContain('ssh://host/web1');
    // An alias that does not exist is "resource not found", with what to do next: -32002 with the
    // uri in data, as 2025-11-25 (this client's revision) names it; 2026-07-28 clients get -32602.
    await expect(s.client.readResource({ uri: 'ssh://host/nope' })).rejects.toMatchObject({
      code: -32002,
      data: { uri: 'ssh://host/nope' },
      message: expect.stringContaining('read ssh://hosts'),
    });
  });

  it('ssh_describe_host shows user and limits; an unknown alias is a tool error that says what to do', async () => {
    const r = await s.call('ssh_describe_host', { alias: 'web1' });
    expect(r.structuredContent).toMatchObject({
      username: sshd.username,
      limits: { max_seconds: 10, max_output_bytes: 65536 },
    });
    const bad = await s.call('ssh_describe_host', { alias: 'nope' });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain('ssh_list_hosts');
  });

  it('ssh_plan is a dry run: decision, rule, limits, addresses and network verdict', async () => {
    const ok = await s.call('ssh_plan', { alias: 'web1', command: 'uptime' });
    expect(ok.structuredContent).toMatchObject({
      allowed: true,
      rule: 'read-only',
      resolved_ips: ['127.0.0.1'],
      would_run: true,
    });
    const denied = await s.call('ssh_plan', { alias: 'web1', command: 'rm -rf /tmp/x' });
    expect(denied.structuredContent).toMatchObject({ allowed: false, would_run: false });
    // A dry run never executes: no audit line for the planned commands.
    expect(s.lines().filter((l) => l.type === 'audit')).toHaveLength(0);
  });

  it('an argument a tool does not know is refused, naming it', async () => {
    const decisions = (): number => s.lines().filter((l) => l.type === 'policy_decision').length;
    const before = decisions();
    const r = await s.call('ssh_run', { alias: 'web1', comand: 'uptime' } as never).catch((err: Error) => err);
    const text = r instanceof Error ? r.message : textOf(r);
    expect(r instanceof Error || r.isError === true, text).toBe(true);
    expect(text).toContain('comand');
    const tools = await s.client.listTools();
    for (const tool of tools.tools) expect(tool.inputSchema.additionalProperties, tool.name).toBe(false);
    // Nothing was decided, so nothing ran.
    expect(decisions()).toBe(before);
  });

  it('ssh_plan shows the exact text it would send, the programs and the writes', async () => {
    const plan = await s.call('ssh_plan', { alias: 'web1', command: "echo  'a  b' | ls  -l" });
    expect(plan.structuredContent).toMatchObject({
      allowed: true,
      sent: "echo 'a  b' | ls -l",
      programs: ['echo', 'ls'],
      writes: [],
    });
    expect((plan.structuredContent as { sent_hash?: string }).sent_hash).toMatch(/^[0-9a-f]{12}$/);
    expect(textOf(plan)).toContain("sends: echo 'a  b' | ls -l");
  });

  it('a long command line is decided off the event loop, as it would be in-line', async () => {
    // 200 statements: over the in-line thresholds, so the built server decides on its thread.
    const command = 'echo  x; '.repeat(200);
    const plan = await s.call('ssh_plan', { alias: 'web1', command });
    expect(plan.structuredContent).toMatchObject({ allowed: true, sent: Array(200).fill('echo x').join('; ') });
    const denied = await s.call('ssh_plan', { alias: 'web1', command: `${command}rm -r /tmp/x` });
    expect(denied.structuredContent).toMatchObject({ allowed: false, rule: 'no-rm' });
  });

  it.each([
    ['web1', 'ed25519'],
    ['web2', 'ecdsa'],
    ['db1', 'rsa'],
    ['vault1', 'ed25519 with passphrase'],
  ])('ssh_run on %s authenticates with %s and returns stdout', async (alias) => {
    const r = await s.call('ssh_run', { alias, command: 'echo hello' });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      alias,
      exit_code: 0,
      stdout: 'hello\n',
      stderr: '',
      timeout: false,
      cancelled: false,
      target_ip: '127.0.0.1',
    });
  });

  it('ssh_run keeps stdout and stderr apart and reports a non-zero exit as a result, not an error', async () => {
    const r = await s.call('ssh_run', { alias: 'web1', command: "sh -c 'echo out; echo err >&2; exit 3'" });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      exit_code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
      bytes_out: 4,
      bytes_err: 4,
    });
  });

  it('ssh_run refuses a denied command with the rule and emits policy_decision allowed=false', async () => {
    const r = await s.call('ssh_run', { alias: 'web1', command: 'rm -rf /' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/denied by policy on web1 \(rule deny_substrings\)/);
    expect(textOf(r)).not.toContain('..');
    // Written before the reply, but the stderr pipe is read apart from stdout here: wait for it.
    const decision = await s.waitForLine((l) => l.type === 'policy_decision' && l.hash === '5c7923bd67b0');
    expect(decision).toMatchObject({ type: 'policy_decision', alias: 'web1', allowed: false });
  });

  it('a bypass attempt is denied and reported as command_bypass_attempt', async () => {
    const r = await s.call('ssh_run', { alias: 'web1', command: "r''eboot" });
    expect(r.isError).toBe(true);
    const ev = await s.waitForLine((l) => l.event_type === 'command_bypass_attempt');
    expect(ev).toMatchObject({
      level: 'error',
      kind: 'security_audit',
      type: 'security_event',
      original_command: "r''eboot",
      normalized_command: 'reboot',
    });
  });

  it('caps output at max_output_bytes and flags truncation', async () => {
    const r = await s.call('ssh_run', { alias: 'web1', command: 'yes a | head -c 200000' });
    const out = r.structuredContent as {
      stdout: string;
      stdout_encoding: string;
      truncated: boolean;
      bytes_out: number;
    };
    expect(out.truncated).toBe(true);
    expect(out.stdout_encoding).toBe('utf8');
    expect(out.stdout).toBe('a\n'.repeat(32768));
    expect(out.bytes_out).toBe(200000);
  });

  it('sends binary output as base64, summarised in the text', async () => {
    const r = await s.call('ssh_run', { alias: 'web1', command: 'head -c 200000 /dev/zero' });
    const out = r.structuredContent as { stdout: string; stdout_encoding: string; truncated: boolean };
    expect(out.stdout_encoding).toBe('base64');
    expect(Buffer.from(out.stdout, 'base64').equals(Buffer.alloc(65536))).toBe(true);
    const text = (r.content as { text: string }[])[0]!.text;
    expect(text).toContain('--- stdout: binary, 65536 bytes (base64 in structuredContent.stdout) ---');
    expect(text).not.toContain('\u0000');
  });

  it('ssh_run_async: status while running, live output, then the result', async () => {
    const start = await s.call('ssh_run_async', {
      alias: 'web1',
      command: "sh -c 'echo first; sleep 1.5; echo second'",
    });
    expect(start.isError, textOf(start)).toBeFalsy();
    const { task_id } = start.structuredContent as { task_id: string };
    // Wait for the first line to arrive while the command is still sleeping.
    let output: { lines: { text: string }[]; state: string; next_offset: number } | undefined;
    for (let i = 0; i < 50; i++) {
      output = (await s.call('ssh_get_task_output', { task_id })).structuredContent as typeof output;
      if (output && output.lines.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(output?.state).toBe('running');
    expect(output?.lines.map((l) => l.text)).toEqual(['first']);
    const status = await s.call('ssh_get_task_status', { task_id });
    expect(status.structuredContent).toMatchObject({ task_id, state: 'running', alias: 'web1', async: true });
    const early = await s.call('ssh_get_task_result', { task_id });
    expect(early.isError).toBe(true);
    expect(textOf(early)).toContain('still running');
    await s.waitForLine((l) => l.type === 'audit' && l.task_id === task_id);
    const result = await s.call('ssh_get_task_result', { task_id });
    expect(result.structuredContent).toMatchObject({ exit_code: 0, stdout: 'first\nsecond\n' });
    const rest = await s.call('ssh_get_task_output', { task_id, offset: output?.next_offset ?? 0 });
    expect((rest.structuredContent as { lines: { text: string }[] }).lines.map((l) => l.text)).toEqual(['second']);
  });

  it('ssh_cancel_async_task stops a running command: cancelled=true in the result and the audit line', async () => {
    const start = await s.call('ssh_run_async', { alias: 'web1', command: 'sleep 30' });
    const { task_id } = start.structuredContent as { task_id: string };
    await s.waitForLine((l) => l.type === 'progress' && l.task_id === task_id && l.phase === 'connected');
    const c = await s.call('ssh_cancel_async_task', { task_id });
    expect(c.structuredContent).toMatchObject({ task_id, cancelled: true, state: 'cancelled' });
    const audit = await s.waitForLine((l) => l.type === 'audit' && l.task_id === task_id);
    expect(audit).toMatchObject({ cancelled: true, timeout: false, exit_code: -1 });
    const again = await s.call('ssh_cancel', { task_id });
    expect(again.structuredContent).toMatchObject({ cancelled: false, state: 'cancelled' });
  });

  it('ssh_cancel stops a synchronous ssh_run from another request', async () => {
    const running = s.call('ssh_run', { alias: 'web1', command: 'sleep 20' });
    const started = await s.waitForLine(
      (l) =>
        l.type === 'progress' &&
        l.phase === 'connected' &&
        !s.lines().some((a) => a.type === 'audit' && a.task_id === l.task_id),
    );
    const c = await s.call('ssh_cancel', { task_id: started.task_id });
    expect(c.structuredContent).toMatchObject({ cancelled: true });
    const r = await running;
    expect(r.structuredContent).toMatchObject({ cancelled: true, timeout: false });
  });

  it('unknown task ids are tool errors that explain the TTL', async () => {
    const r = await s.call('ssh_get_task_status', { task_id: 'task_0000000000000000' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('task_result_ttl');
    const bad = await s.call('ssh_get_task_status', { task_id: '../etc' });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/task_id/);
  });

  it('ssh_run_on_tag runs on every tagged host and reports per host', async () => {
    const r = await s.call('ssh_run_on_tag', { tag: 'web', command: 'hostname' });
    expect(r.structuredContent).toMatchObject({ tag: 'web', hosts_total: 2, succeeded: 2, failed: 0, denied: 0 });
    const none = await s.call('ssh_run_on_tag', { tag: 'nope', command: 'hostname' });
    expect(none.isError).toBe(true);
  });

  it('sends MCP progress notifications when the client passes a progressToken', async () => {
    const seen: { progress: number; message?: string }[] = [];
    const r = await s.client.callTool(
      { name: 'ssh_run', arguments: { alias: 'web1', command: 'sleep 1.2' } },
      undefined,
      {
        onprogress: (p) => seen.push(p),
      },
    );
    expect(r.isError).toBeFalsy();
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.map((p) => p.message?.split(':')[0])).toEqual(
      expect.arrayContaining(['connecting', 'connected', 'running']),
    );
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
  });

  it('rejects malformed arguments with a message naming the field', async () => {
    const r = await s.call('ssh_run', { alias: 'web1' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/command/);
  });
});
