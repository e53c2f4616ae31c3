/**
 * The server factory in both protocol eras, in memory: no sshd, no build. The SDK's serveStdio
 * entry runs over an in-memory transport pair, the orchestrator is a stand-in whose commands run
 * until cancelled, and the v2 client negotiates the era (auto: 2026-07-28; default: 2025-11-25).
 */
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Orchestrator } from '../../../src/orchestrator.js';
import { createMcpServer } from '../../../src/server/server.js';
import { TASKS_EXTENSION } from '../../../src/server/tasks-extension.js';
import { VersionGatedTransport } from '../../../src/server/version-gate.js';
import { TaskRegistry, type TaskResult } from '../../../src/tasks/registry.js';

/** An orchestrator whose every command runs until it is cancelled. */
function standIn(): Orchestrator {
  const tasks = new TaskRegistry();
  const limits = { max_seconds: 30, max_output_bytes: 1024, task_result_ttl: 60, task_progress_interval: 0.2 };
  const start = (req: { alias: string; command: string; async: boolean }): Promise<unknown> => {
    const task = tasks.create(req.alias, req.command, 'abc123', req.async, limits);
    const done = new Promise<TaskResult>((resolve) => {
      task.abort.signal.addEventListener('abort', () => {
        const result = {
          task_id: task.id,
          alias: req.alias,
          hash: 'abc123',
          exit_code: -1,
          bytes_out: 0,
          bytes_err: 0,
          truncated: false,
          duration_ms: task.elapsedMs,
          cancelled: true,
          timeout: false,
          target_ip: '127.0.0.1',
        } as unknown as TaskResult;
        task.finish(result);
        resolve(result);
      });
    });
    return Promise.resolve({ allowed: true, alias: req.alias, hash: 'abc123', task, limits, done, decision: {} });
  };
  const snapshot = { config: { hosts: [], hostsByAlias: new Map() }, generation: 1 };
  return { tasks, snapshot, executor: { start } } as unknown as Orchestrator;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function connect(mode: 'auto' | 'legacy'): Promise<{ client: Client; orchestrator: Orchestrator }> {
  const orchestrator = standIn();
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(createMcpServer(orchestrator, '0.0.0-test'), {
    transport: new VersionGatedTransport(serverSide),
  });
  const client = new Client({ name: 'unit', version: '1' }, { versionNegotiation: { mode } });
  await client.connect(clientSide);
  closers.push(async () => {
    await client.close();
    await handle.close();
  });
  return { client, orchestrator };
}

describe('one server factory, two protocol eras', () => {
  it('auto: 2026-07-28, the Tasks extension advertised, ssh_ping answers', async () => {
    const { client } = await connect('auto');
    expect(client.getProtocolEra()).toBe('modern');
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(client.getServerCapabilities()?.extensions).toEqual({ [TASKS_EXTENSION]: {} });
    const pong = await client.callTool({ name: 'ssh_ping', arguments: {} });
    expect(pong.structuredContent).toMatchObject({ ok: true, version: '0.0.0-test', hosts: 0 });
  });

  it('default: 2025-11-25, no extension, the same tools', async () => {
    const { client } = await connect('legacy');
    expect(client.getProtocolEra()).toBe('legacy');
    expect(client.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect(client.getServerCapabilities()?.extensions).toBeUndefined();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('ssh_run');
    expect(tools.map((t) => t.name)).not.toContain('ssh_test_confirm');
  });

  it('tasks/get and tasks/cancel map onto the registry: working, then cancelled', async () => {
    const { client, orchestrator } = await connect('auto');
    // A registry task, as ssh_run_async would leave it.
    const admission = (await orchestrator.executor.start({ alias: 'web1', command: 'sleep 9', async: true })) as {
      task: { id: string };
    };
    const taskId = admission.task.id;
    const taskResult = z.looseObject({ taskId: z.string(), status: z.string() });
    const meta = { 'io.modelcontextprotocol/clientCapabilities': { extensions: { [TASKS_EXTENSION]: {} } } };
    expect(await client.request({ method: 'tasks/get', params: { taskId, _meta: meta } }, taskResult)).toMatchObject({
      taskId,
      status: 'working',
    });
    await client.request({ method: 'tasks/cancel', params: { taskId, _meta: meta } }, z.looseObject({}));
    await orchestrator.tasks.get(taskId)?.settled;
    expect(await client.request({ method: 'tasks/get', params: { taskId, _meta: meta } }, taskResult)).toMatchObject({
      status: 'cancelled',
    });
    await expect(
      client.request({ method: 'tasks/get', params: { taskId: 'task_0000000000000000', _meta: meta } }, taskResult),
    ).rejects.toMatchObject({ code: -32602 });
  });
});
