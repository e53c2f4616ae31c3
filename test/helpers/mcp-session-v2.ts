/**
 * Spawns the built server (dist/cli.js) and drives it with the official MCP SDK v2 client
 * (@modelcontextprotocol/client) over stdio: in `auto` mode it probes with server/discover and
 * speaks the 2026-07-28 revision (the "modern" era); in its default mode it opens with the 2025
 * initialize handshake ("legacy"). Beside mcp-session.ts, which drives the same server with the
 * 1.x client, and with the same shape (lines, call, waitForLine, close).
 *
 * Two additions the protocol change needs:
 * - `wire`: every JSON-RPC message in both directions, as sent, so tests can check what only the
 *   wire shows (the _meta envelope, ttlMs cache fields, that no initialize was sent);
 * - `tasks`: a small driver for the Tasks extension. SDK 2.4 carries no Tasks runtime (a
 *   `tools/call` answered with `resultType: "task"` is rejected by its result decoder), so the
 *   task-creating call is written by the helper on the session's own transport with the same
 *   `_meta` envelope the client would attach, and its reply taken off the wire before the client
 *   sees it; tasks/get, tasks/update and tasks/cancel go through `client.request` with a result
 *   schema, which the SDK allows for the extension's methods on the 2026-07-28 era.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  Client,
  PROTOCOL_VERSION_META_KEY,
  type CallToolResult,
  type ClientCapabilities,
  type ElicitRequest,
  type ElicitResult,
  type JSONRPCMessage,
  type ProgressCallback,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Stream } from 'node:stream';
import { z } from 'zod';
import { CLI_PATH } from './mcp-session.js';
import { assertStderrIsJson } from './stderr-contract.js';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

export type NegotiationMode = 'default' | 'auto' | { pin: string };

export interface WireMessage {
  dir: 'out' | 'in';
  message: Record<string, unknown>;
}

const taskShape = z.looseObject({
  taskId: z.string(),
  status: z.enum(['working', 'input_required', 'completed', 'cancelled', 'failed']),
  statusMessage: z.string().optional(),
  createdAt: z.string(),
  lastUpdatedAt: z.string(),
  ttlMs: z.number().nullable(),
  pollIntervalMs: z.number().optional(),
  result: z.looseObject({}).optional(),
  error: z.looseObject({}).optional(),
});
export type WireTask = z.infer<typeof taskShape>;

export interface McpV2Session {
  client: Client;
  /** The era the connection negotiated ('modern' for 2026-07-28, 'legacy' for 2025). */
  era: 'legacy' | 'modern' | undefined;
  protocolVersion: string | undefined;
  wire: WireMessage[];
  lines(): Record<string, unknown>[];
  rawStderr(): string;
  call(name: string, args?: Record<string, unknown>, opts?: { onprogress?: ProgressCallback }): Promise<CallToolResult>;
  /**
   * One request written by the helper with the session's `_meta` envelope (or another protocol
   * version, or the Tasks extension declared), answered with the raw JSON-RPC reply.
   */
  raw(
    method: string,
    params?: Record<string, unknown>,
    opts?: { version?: string; tasks?: boolean },
  ): Promise<Record<string, unknown>>;
  tasks: {
    /** tools/call declaring the Tasks extension: the raw result (a CreateTaskResult, or an ordinary tool result). */
    callTool(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
    get(taskId: string): Promise<WireTask>;
    update(taskId: string, inputResponses: Record<string, unknown>): Promise<Record<string, unknown>>;
    cancel(taskId: string): Promise<Record<string, unknown>>;
    /** Polls tasks/get (at the task's pollIntervalMs, at most every 50 ms) until the predicate holds. */
    waitFor(taskId: string, pred: (t: WireTask) => boolean, timeoutMs?: number): Promise<WireTask>;
  };
  close(): Promise<void>;
  waitForLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  pid: number | null;
}

export interface V2SessionOptions {
  env?: Record<string, string>;
  args?: string[];
  /** `auto` (the default here) probes with server/discover; `default` is the SDK's own default (legacy). */
  mode?: NegotiationMode;
  capabilities?: ClientCapabilities;
  /** Answers elicitation requests: embedded in input_required results (modern) or sent by the server (legacy). */
  onElicit?: (request: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;
}

export async function startV2Session(configDir: string, opts: V2SessionOptions = {}): Promise<McpV2Session> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_PATH, '--config-dir', configDir, ...(opts.args ?? [])],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stderr: 'pipe',
  });
  let stderr = '';
  const waiters: Array<() => void> = [];
  const mode = opts.mode ?? 'auto';
  const capabilities: ClientCapabilities = {
    ...(opts.onElicit ? { elicitation: { form: {} } } : {}),
    ...opts.capabilities,
  };
  const clientInfo = { name: 'mcp-ssh-test-v2', version: '2.0.0' };
  const client = new Client(clientInfo, {
    capabilities,
    ...(mode === 'default' ? {} : { versionNegotiation: { mode } }),
  });
  if (opts.onElicit) {
    const answer = opts.onElicit;
    client.setRequestHandler('elicitation/create', (request) => answer(request.params));
  }
  const wire: WireMessage[] = [];
  // Replies to the helper's own requests (string ids the client never uses), taken off the wire.
  const own = new Map<string, (message: Record<string, unknown>) => void>();
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, ...rest: unknown[]) => {
    wire.push({ dir: 'out', message: message as unknown as Record<string, unknown> });
    return (send as (m: JSONRPCMessage, ...r: unknown[]) => Promise<void>)(message, ...rest);
  };
  const onStderr = (d: Buffer): void => {
    stderr += d.toString('utf8');
    for (const w of waiters.splice(0)) w();
  };
  let stderrStream = transport.stderr as Stream | null;
  stderrStream?.on('data', onStderr);
  await client.connect(transport);
  // In case the pipe only exists once the session process is spawned (after the probe, in auto mode).
  if (!stderrStream) {
    stderrStream = transport.stderr as Stream | null;
    stderrStream?.on('data', onStderr);
  }
  const deliver = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage, extra?: unknown) => {
    const m = message as unknown as Record<string, unknown>;
    wire.push({ dir: 'in', message: m });
    const mine = typeof m.id === 'string' ? own.get(m.id) : undefined;
    if (mine) {
      own.delete(m.id as string);
      mine(m);
      return;
    }
    (deliver as ((msg: JSONRPCMessage, extra?: unknown) => void) | undefined)?.(message, extra);
  };

  const lines = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { _raw: l };
        }
      });

  const withTasks = { ...capabilities, extensions: { [TASKS_EXTENSION]: {} } };
  const taskMeta = (): Record<string, unknown> => ({ [CLIENT_CAPABILITIES_META_KEY]: withTasks });
  let ownId = 0;
  const raw: McpV2Session['raw'] = (method, params = {}, rawOpts = {}) =>
    new Promise((resolve, reject) => {
      const id = `helper-${++ownId}`;
      own.set(id, resolve);
      const request = {
        jsonrpc: '2.0' as const,
        id,
        method,
        params: {
          ...params,
          _meta: {
            [PROTOCOL_VERSION_META_KEY]: rawOpts.version ?? client.getNegotiatedProtocolVersion(),
            [CLIENT_INFO_META_KEY]: clientInfo,
            [CLIENT_CAPABILITIES_META_KEY]: rawOpts.tasks ? withTasks : capabilities,
            ...(params._meta as Record<string, unknown> | undefined),
          },
        },
      };
      transport.send(request as unknown as JSONRPCMessage).catch(reject);
    });
  const tasks: McpV2Session['tasks'] = {
    callTool: async (name, args) => {
      const reply = await raw('tools/call', { name, arguments: args }, { tasks: true });
      if (reply.error) throw Object.assign(new Error(JSON.stringify(reply.error)), { error: reply.error });
      return reply.result as Record<string, unknown>;
    },
    get: async (taskId) => client.request({ method: 'tasks/get', params: { taskId, _meta: taskMeta() } }, taskShape),
    update: async (taskId, inputResponses) =>
      client.request(
        { method: 'tasks/update', params: { taskId, inputResponses, _meta: taskMeta() } },
        z.looseObject({}),
      ),
    cancel: async (taskId) =>
      client.request({ method: 'tasks/cancel', params: { taskId, _meta: taskMeta() } }, z.looseObject({})),
    waitFor: async (taskId, pred, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const t = await tasks.get(taskId);
        if (pred(t)) return t;
        if (Date.now() > deadline) throw new Error(`task ${taskId} still ${t.status} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, Math.max(50, Math.min(t.pollIntervalMs ?? 200, 500))));
      }
    },
  };

  return {
    client,
    era: client.getProtocolEra(),
    protocolVersion: client.getNegotiatedProtocolVersion(),
    wire,
    lines,
    rawStderr: () => stderr,
    pid: transport.pid,
    call: async (name, args = {}, callOpts = {}) =>
      (await client.callTool({ name, arguments: args }, callOpts)) as CallToolResult,
    raw,
    tasks,
    close: async () => {
      await client.close();
      assertStderrIsJson(stderr, `server ${configDir}`);
    },
    waitForLine: async (pred, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines().find(pred);
        if (hit) return hit;
        if (Date.now() > deadline)
          throw new Error(`no matching stderr line within ${timeoutMs} ms; stderr:\n${stderr}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
  };
}
