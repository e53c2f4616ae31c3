/**
 * Builds the MCP server (tools, resources, prompts) and serves it over stdio. stdout carries only
 * JSON-RPC; all logging goes through telemetry to stderr.
 *
 * One factory serves both protocol eras (docs/mcp-protocol-eras.md): the SDK's stdio entry reads
 * the connection's opening message — `initialize` for a 2025-11-25 client, an enveloped request
 * such as `server/discover` for a 2026-07-28 one — and asks the factory for the instance that
 * serves that era. The same factory is what an HTTP entry (`createMcpHandler`) takes per request.
 */
import { createRequestStateCodec, McpServer, type McpServerFactory } from '@modelcontextprotocol/server';
import { serveStdio as serveSdkStdio } from '@modelcontextprotocol/server/stdio';
import { randomBytes } from 'node:crypto';
import type { Orchestrator } from '../orchestrator.js';
import type { ToolContext } from './context.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { installStrictSchemas } from './strict-schemas.js';
import { AuditFirstStdioTransport, type TransportProblem } from './stdio-transport.js';
import { registerTasksExtension, TASKS_EXTENSION } from './tasks-extension.js';
import { traceToolCalls } from './tool-spans.js';
import { VersionGatedTransport } from './version-gate.js';
import { registerTools } from './tools/index.js';
import { registerTestTools, testToolsEnabled } from './tools/test-tools.js';

export type { McpServerFactory } from '@modelcontextprotocol/server';

/**
 * Cache hints for 2026-07-28 list results. The tool and prompt lists, and what server/discover
 * says, change only with the binary; the resource list follows the host inventory, which a config
 * reload changes (resources.ts gives each resource read the same short lifetime).
 */
const BINARY_LIFETIME_MS = 3_600_000;
const CONFIG_LIFETIME_MS = 10_000;

const INSTRUCTIONS =
  'Runs shell commands on SSH hosts under a policy. Start with ssh_list_hosts; use ssh_plan to check a command before ' +
  'running it; ssh_run for short commands, ssh_run_async + ssh_get_task_output for long ones; ssh_run_on_tag for a group.';

/**
 * The server factory. Each call builds one instance for one era; what they share (the orchestrator,
 * the start time, the key that signs multi-round-trip request state) lives here.
 */
export function createMcpServer(
  orchestrator: Orchestrator,
  version: string,
  opts: { requestStateKey?: Uint8Array; testTools?: boolean } = {},
): McpServerFactory {
  const ctx: ToolContext = { orchestrator, version, startedAt: Date.now() };
  // One process serves every round of a stdio flow, so a per-process key is enough here; HTTP
  // replicas behind a load balancer will need one key shared by all of them.
  const requestState = createRequestStateCodec({
    key: opts.requestStateKey ?? randomBytes(32),
    ttlSeconds: 600,
    // State is good only for the method (and tool) that minted it.
    bind: (c) => `${c.mcpReq.method}\0${c.http?.authInfo?.clientId ?? ''}`,
  });
  const testTools = opts.testTools ?? testToolsEnabled();
  return ({ era }) => {
    const server = new McpServer(
      { name: 'mcp-ssh-orchestrator', version },
      {
        capabilities: {
          // tools: registered with the first tool, so that the tools/call handler is installed then (tasks-extension.ts wraps it).
          resources: {},
          prompts: {},
          // The Tasks extension exists only on the 2026-07-28 revision (server/discover advertises it).
          ...(era === 'modern' ? { extensions: { [TASKS_EXTENSION]: {} } } : {}),
        },
        instructions: INSTRUCTIONS,
        cacheHints: {
          'tools/list': { ttlMs: BINARY_LIFETIME_MS, cacheScope: 'public' },
          'prompts/list': { ttlMs: BINARY_LIFETIME_MS, cacheScope: 'public' },
          'server/discover': { ttlMs: BINARY_LIFETIME_MS, cacheScope: 'public' },
          'resources/list': { ttlMs: CONFIG_LIFETIME_MS, cacheScope: 'private' },
          'resources/templates/list': { ttlMs: BINARY_LIFETIME_MS, cacheScope: 'public' },
          'resources/read': { ttlMs: CONFIG_LIFETIME_MS, cacheScope: 'private' },
        },
        requestState: { verify: (state, c) => requestState.verify(state, c) },
      },
    );
    traceToolCalls(server);
    // Before the tools, like the Tasks extension: both wrap handlers the SDK installs with them.
    installStrictSchemas(server);
    // Before the tools: it wraps the tools/call handler the SDK installs with the first of them.
    if (era === 'modern') registerTasksExtension(server, ctx);
    registerTools(server, ctx);
    if (testTools) registerTestTools(server, requestState);
    registerResources(server, ctx);
    registerPrompts(server, ctx);
    return server;
  };
}

/** Serves until stdin closes or a signal arrives; resolves once shutdown is complete. */
export async function serveStdio(
  factory: McpServerFactory,
  hooks: {
    flushTelemetry: () => void;
    onShutdown: () => Promise<void>;
    /** A message that could not be read, or an error inside the protocol layer: one JSON line each. */
    report: (problem: TransportProblem | 'mcp_protocol_error', message: string) => void;
  },
): Promise<void> {
  const { flushTelemetry, onShutdown, report } = hooks;
  const transport = new VersionGatedTransport(new AuditFirstStdioTransport(flushTelemetry, report), (requested) =>
    report(
      'mcp_protocol_error',
      `refused a request for protocol version ${requested} (-32022; supported: 2026-07-28 per request, 2025-era versions via initialize)`,
    ),
  );
  // The SDK reports what it could not handle (a response to no request, a failed send) here, silently unless heard.
  const handle = serveSdkStdio(factory, { transport, onerror: (err) => report('mcp_protocol_error', err.message) });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await onShutdown();
      await handle.close();
    })();
    return stopping;
  };
  await new Promise<void>((resolve) => {
    const finish = (): void => void stop().then(resolve);
    process.stdin.once('end', finish);
    process.stdin.once('close', finish);
    process.once('SIGTERM', finish);
    process.once('SIGINT', finish);
  });
}
