/**
 * Builds the MCP server (tools, resources, prompts) and serves it over stdio. stdout carries only
 * JSON-RPC; all logging goes through telemetry to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Orchestrator } from '../orchestrator.js';
import type { ToolContext } from './context.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { AuditFirstStdioTransport, type TransportProblem } from './stdio-transport.js';
import { traceToolCalls } from './tool-spans.js';
import { registerTools } from './tools/index.js';

export function createMcpServer(orchestrator: Orchestrator, version: string): McpServer {
  const server = new McpServer(
    { name: 'mcp-ssh-orchestrator', version },
    {
      capabilities: { tools: {}, resources: {}, prompts: {} },
      instructions:
        'Runs shell commands on SSH hosts under a policy. Start with ssh_list_hosts; use ssh_plan to check a command before ' +
        'running it; ssh_run for short commands, ssh_run_async + ssh_get_task_output for long ones; ssh_run_on_tag for a group.',
    },
  );
  const ctx: ToolContext = { orchestrator, version, startedAt: Date.now() };
  traceToolCalls(server);
  registerTools(server, ctx);
  registerResources(server, ctx);
  registerPrompts(server, ctx);
  return server;
}

/** Serves until stdin closes or a signal arrives; resolves once shutdown is complete. */
export async function serveStdio(
  server: McpServer,
  hooks: {
    flushTelemetry: () => void;
    onShutdown: () => Promise<void>;
    /** A message that could not be read, or an error inside the protocol layer: one JSON line each. */
    report: (problem: TransportProblem | 'mcp_protocol_error', message: string) => void;
  },
): Promise<void> {
  const { flushTelemetry, onShutdown, report } = hooks;
  const transport = new AuditFirstStdioTransport(flushTelemetry, report);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await onShutdown();
      await server.close();
    })();
    return stopping;
  };
  await server.connect(transport);
  // The SDK reports what it could not handle (a response to no request, a failed send) here, silently unless heard.
  server.server.onerror = (err) => report('mcp_protocol_error', err.message);
  await new Promise<void>((resolve) => {
    const finish = (): void => void stop().then(resolve);
    process.stdin.once('end', finish);
    process.stdin.once('close', finish);
    process.once('SIGTERM', finish);
    process.once('SIGINT', finish);
  });
}
