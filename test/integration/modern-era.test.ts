/**
 * Both protocol eras from one server binary, over stdio, against a real sshd:
 * - the MCP SDK v2 client in `auto` mode probes with server/discover and speaks 2026-07-28
 *   ("modern": no initialize, a `_meta` envelope on every request);
 * - the 1.x SDK client (what today's tests and 2025 hosts use) and the v2 client in its default
 *   mode open with initialize and get 2025-11-25 ("legacy").
 * Every tool answers in every session; then what only the modern era has: cache hints, the
 * version-mismatch error, a multi round-trip request (through the test-only ssh_test_confirm),
 * and a command run as a Tasks-extension task, from start to completion and to cancellation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { makeFleet, type Fleet } from '../helpers/fleet.js';
import { startSession, type McpSession } from '../helpers/mcp-session.js';
import { startV2Session, TASKS_EXTENSION, type McpV2Session, type WireMessage } from '../helpers/mcp-session-v2.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';

const TEST_TOOLS = { MCP_SSH_TEST_TOOLS: '1' };
const approve = () => ({ action: 'accept' as const, content: { approve: true } });

type AnySession = Pick<McpSession, 'call' | 'lines' | 'waitForLine'> & {
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
};

/** One call of every tool, in an order that leaves the config as it was. */
async function everyTool(s: AnySession): Promise<Map<string, CallToolResult>> {
  const out = new Map<string, CallToolResult>();
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> => {
    const r = await s.call(name, args);
    out.set(name, r);
    return r;
  };
  await call('ssh_ping');
  await call('ssh_list_hosts');
  await call('ssh_describe_host', { alias: 'web1' });
  await call('ssh_plan', { alias: 'web1', command: 'uptime' });
  await call('ssh_run', { alias: 'web1', command: 'echo hi' });
  await call('ssh_run_on_tag', { tag: 'web', command: 'echo hi' });
  const started = await call('ssh_run_async', { alias: 'web1', command: 'echo started; sleep 0.3; echo done' });
  const task_id = (started.structuredContent as { task_id: string }).task_id;
  await call('ssh_get_task_output', { task_id });
  for (let i = 0; i < 100; i++) {
    const st = await call('ssh_get_task_status', { task_id });
    if ((st.structuredContent as { state: string }).state !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await call('ssh_get_task_result', { task_id });
  await call('ssh_cancel', { task_id });
  await call('ssh_cancel_async_task', { task_id });
  await call('ssh_reload_config');
  return out;
}

function outbound(wire: WireMessage[]): Record<string, unknown>[] {
  return wire.filter((w) => w.dir === 'out').map((w) => w.message);
}

function replyTo(wire: WireMessage[], method: string): Record<string, unknown> | undefined {
  const req = outbound(wire)
    .filter((m) => m.method === method)
    .at(-1);
  return wire.find((w) => w.dir === 'in' && w.message.id === req?.id)?.message;
}

describe('both protocol eras from one server over stdio', () => {
  let sshd: TestSshd;
  let fleet: Fleet;
  let modern: McpV2Session;
  let v2Default: McpV2Session;
  let legacy: McpSession;

  beforeAll(async () => {
    sshd = await startSshd();
    fleet = makeFleet(
      [sshd],
      [
        { alias: 'web1', sshd, tags: ['web', 'linux'] },
        { alias: 'web2', sshd, tags: ['web'], credentials: 'ecdsa' },
      ],
    );
    [modern, v2Default, legacy] = await Promise.all([
      startV2Session(fleet.configDir, { env: TEST_TOOLS, mode: 'auto', onElicit: approve }),
      startV2Session(fleet.configDir, { env: TEST_TOOLS, mode: 'default', onElicit: approve }),
      startSession(fleet.configDir, { env: TEST_TOOLS, onElicit: approve }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([modern?.close(), v2Default?.close(), legacy?.close()]);
    await sshd?.stop();
  });

  it('the v2 client in auto mode negotiates 2026-07-28: no initialize, an envelope on every request, the Tasks extension advertised', () => {
    expect(modern.era).toBe('modern');
    expect(modern.protocolVersion).toBe('2026-07-28');
    expect(modern.client.getServerCapabilities()?.extensions).toEqual({ [TASKS_EXTENSION]: {} });
    expect(modern.client.getServerVersion()).toMatchObject({ name: 'mcp-ssh-orchestrator' });
    const sent = outbound(modern.wire);
    expect(sent.map((m) => m.method)).not.toContain('initialize');
    for (const m of sent.filter((x) => 'method' in x))
      expect((m.params as { _meta?: Record<string, unknown> })._meta, String(m.method)).toMatchObject({
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      });
  });

  it('the 1.x client and the v2 client in its default mode get 2025-11-25 (legacy), without the extension', () => {
    expect(legacy.protocolVersion()).toBe('2025-11-25');
    expect(v2Default.era).toBe('legacy');
    expect(v2Default.protocolVersion).toBe('2025-11-25');
    expect(outbound(v2Default.wire).map((m) => m.method)).not.toContain('server/discover');
    for (const caps of [legacy.client.getServerCapabilities(), v2Default.client.getServerCapabilities()]) {
      expect(caps).toMatchObject({ tools: {}, resources: {}, prompts: {} });
      expect(caps?.extensions).toBeUndefined();
    }
  });

  it('every tool answers alike in all three sessions: same tool list, same structured results', async () => {
    const names = async (list: Promise<{ tools: { name: string }[] }>) => (await list).tools.map((t) => t.name).sort();
    const expected = await names(legacy.client.listTools());
    expect(expected).toContain('ssh_test_confirm');
    expect(await names(modern.client.listTools())).toEqual(expected);
    expect(await names(v2Default.client.listTools())).toEqual(expected);
    // One after another: ssh_reload_config in one session must not race another's reads.
    const results: Map<string, CallToolResult>[] = [];
    for (const s of [legacy, v2Default, modern]) results.push(await everyTool(s as unknown as AnySession));
    const [old, ...others] = results;
    expect([...old!.keys()].length).toBe(expected.length - 1); // all but the test-only tool
    for (const [name, r] of old!) {
      expect(r.isError ?? false, `${name} (2025, 1.x client)`).toBe(false);
      for (const other of others) {
        const o = other.get(name)!;
        expect(o.isError ?? false, name).toBe(r.isError ?? false);
        expect(Object.keys(o.structuredContent ?? {}).sort(), name).toEqual(
          Object.keys(r.structuredContent ?? {}).sort(),
        );
      }
    }
    expect(others[1]!.get('ssh_run')!.structuredContent).toMatchObject({ stdout: 'hi\n', exit_code: 0 });
  });

  it('modern era: progress notifications, the audit line before the reply, the span on the client trace', async () => {
    const progress: number[] = [];
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await modern.client.callTool(
      {
        name: 'ssh_run',
        arguments: { alias: 'web1', command: 'echo one; sleep 1; echo two' },
        _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(r.isError ?? false).toBe(false);
    expect(progress.length).toBeGreaterThan(0);
    const taskId = (r.structuredContent as { task_id: string }).task_id;
    // Written before the reply that reports it, but stderr is another pipe: wait for it.
    await modern.waitForLine((l) => l.type === 'audit' && l.task_id === taskId);
    expect(modern.lines()).toContainEqual(
      expect.objectContaining({ type: 'audit', task_id: taskId, exit_code: 0, trace_id: traceId }),
    );
  });

  it('modern era: cancelling the request cancels the command', async () => {
    const abort = new AbortController();
    const call = modern.client.callTool(
      { name: 'ssh_run', arguments: { alias: 'web1', command: 'sleep 20' } },
      { signal: abort.signal },
    );
    await new Promise((r) => setTimeout(r, 1000));
    abort.abort('test cancels');
    await expect(call).rejects.toThrow();
    const audit = await modern.waitForLine((l) => l.type === 'audit' && l.cancelled === true, 10_000);
    expect(audit).toMatchObject({ alias: 'web1', cancelled: true });
  });

  it('modern era: tools/list and resources carry cache hints; 2025 replies carry none', async () => {
    await modern.client.listTools();
    await modern.client.readResource({ uri: 'ssh://hosts' });
    await modern.client.listResources();
    expect(replyTo(modern.wire, 'tools/list')?.result).toMatchObject({ ttlMs: 3_600_000, cacheScope: 'public' });
    expect(replyTo(modern.wire, 'resources/read')?.result).toMatchObject({ ttlMs: 10_000, cacheScope: 'private' });
    expect(replyTo(modern.wire, 'resources/list')?.result).toMatchObject({ ttlMs: 10_000, cacheScope: 'private' });
    await v2Default.client.listTools();
    expect(replyTo(v2Default.wire, 'tools/list')?.result).not.toHaveProperty('ttlMs');
  });

  it('resource not found in each era’s own code on the wire: -32602 for 2026-07-28, -32002 for 2025-11-25', async () => {
    const uri = 'ssh://host/nope/tags';
    // The v2 client reads either code (with data.uri) as ResourceNotFoundError: look at the wire.
    await expect(modern.client.readResource({ uri })).rejects.toThrow(/unknown host alias/);
    expect(replyTo(modern.wire, 'resources/read')?.error).toMatchObject({ code: -32602, data: { uri } });
    await expect(v2Default.client.readResource({ uri })).rejects.toThrow(/unknown host alias/);
    expect(replyTo(v2Default.wire, 'resources/read')?.error).toMatchObject({ code: -32002, data: { uri } });
    await expect(legacy.client.readResource({ uri })).rejects.toMatchObject({ code: -32002, data: { uri } });
  });

  it('modern era: a request naming an unknown protocol version gets -32022 with the supported versions', async () => {
    const reply = await modern.raw('tools/list', {}, { version: '1900-01-01' });
    expect(reply.error).toMatchObject({ code: -32022, data: { supported: ['2026-07-28'], requested: '1900-01-01' } });
    // The connection goes on serving.
    expect((await modern.call('ssh_ping')).isError ?? false).toBe(false);
  });

  it('MRTR round trip (modern): input_required with signed state, the retry echoes it, the answer decides', async () => {
    const before = modern.wire.length;
    const r = await modern.call('ssh_test_confirm', { alias: 'web1', command: 'reboot' });
    expect(r.structuredContent).toMatchObject({ approved: true, alias: 'web1' });
    const exchange = modern.wire.slice(before);
    const first = exchange.find(
      (w) => w.dir === 'in' && (w.message.result as { resultType?: string })?.resultType === 'input_required',
    );
    const state = first?.message.result as { requestState: string; inputRequests: Record<string, { method: string }> };
    expect(state.inputRequests.approval?.method).toBe('elicitation/create');
    expect(state.requestState).toMatch(/^v1\./);
    const retry = outbound(exchange).filter((m) => m.method === 'tools/call')[1]!;
    expect(retry.id).not.toBe(outbound(exchange)[0]!.id);
    expect(retry.params).toMatchObject({
      requestState: state.requestState,
      inputResponses: { approval: { action: 'accept', content: { approve: true } } },
    });
    // Tampered state is refused by the HMAC check; state minted for another command by the tool.
    const tampered = await modern.raw('tools/call', {
      name: 'ssh_test_confirm',
      arguments: { alias: 'web1', command: 'reboot' },
      requestState: `${state.requestState.slice(0, -4)}AAAA`,
      inputResponses: { approval: { action: 'accept', content: { approve: true } } },
    });
    expect(tampered.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
    const replayed = await modern.raw('tools/call', {
      name: 'ssh_test_confirm',
      arguments: { alias: 'web1', command: 'rm -rf /' },
      requestState: state.requestState,
      inputResponses: { approval: { action: 'accept', content: { approve: true } } },
    });
    expect(replayed.result).toMatchObject({ isError: true });
    expect(JSON.stringify(replayed.result)).toContain('minted for another call');
  });

  it('MRTR for a 2025 client: the SDK asks with elicitation/create and the same tool answers', async () => {
    const r = await legacy.call('ssh_test_confirm', { alias: 'web1', command: 'reboot' });
    expect(r.structuredContent).toMatchObject({ approved: true, alias: 'web1' });
  });

  it('Tasks extension: ssh_run as a task, to completion, on the same registry as the task tools', async () => {
    const created = await modern.tasks.callTool('ssh_run', { alias: 'web1', command: 'echo from-a-task' });
    expect(created).toMatchObject({ resultType: 'task', status: 'working', taskId: expect.stringMatching(/^task_/) });
    expect(created.ttlMs).toBeGreaterThan(0);
    const taskId = created.taskId as string;
    const done = await modern.tasks.waitFor(taskId, (t) => t.status !== 'working');
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({
      structuredContent: { task_id: taskId, stdout: 'from-a-task\n', exit_code: 0 },
    });
    const status = await modern.call('ssh_get_task_status', { task_id: taskId });
    expect(status.structuredContent).toMatchObject({ task_id: taskId, state: 'completed', async: true });
    // A refused command is answered at once, not as a task.
    const refused = await modern.tasks.callTool('ssh_run', { alias: 'web1', command: 'rm -rf /' });
    expect(refused).toMatchObject({ isError: true });
    expect(refused).not.toHaveProperty('taskId');
    // Unknown task ids are a JSON-RPC error.
    await expect(modern.tasks.get('task_0000000000000000')).rejects.toMatchObject({ code: -32602 });
  });

  it('Tasks extension: a task from start to cancellation', async () => {
    const created = await modern.tasks.callTool('ssh_run', { alias: 'web1', command: 'sleep 20' });
    const taskId = created.taskId as string;
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    expect((await modern.tasks.get(taskId)).status).toBe('working');
    expect(await modern.tasks.update(taskId, {})).toBeDefined();
    const ack = await modern.tasks.cancel(taskId);
    expect(ack).not.toHaveProperty('error');
    const cancelled = await modern.tasks.waitFor(taskId, (t) => t.status !== 'working');
    expect(cancelled.status).toBe('cancelled');
    await modern.waitForLine((l) => l.type === 'audit' && l.task_id === taskId && l.cancelled === true);
    const status = await modern.call('ssh_get_task_status', { task_id: taskId });
    expect(status.structuredContent).toMatchObject({ state: 'cancelled' });
    // The era was modern throughout.
    expect(modern.client.getProtocolEra()).toBe('modern');
  });
});
