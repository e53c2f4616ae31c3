/**
 * Builds the MCP server (tools + resources) and serves it over stdio. stdout carries only
 * JSON-RPC; all logging goes through telemetry to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import type { Orchestrator } from '../orchestrator.js';
import type { ToolContext } from './context.js';
import { registerResources } from './resources.js';
import { traceToolCalls } from './tool-spans.js';
import { registerTools } from './tools/index.js';

export function createMcpServer(orchestrator: Orchestrator, version: string): McpServer {
  const server = new McpServer(
    { name: 'mcp-ssh-orchestrator', version },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        'Runs shell commands on SSH hosts under a policy. Start with ssh_list_hosts; use ssh_plan to check a command before ' +
        'running it; ssh_run for short commands, ssh_run_async + ssh_get_task_output for long ones; ssh_run_on_tag for a group.',
    },
  );
  const ctx: ToolContext = { orchestrator, version, startedAt: Date.now() };
  traceToolCalls(server);
  registerTools(server, ctx);
  registerResources(server, ctx);
  return server;
}

/**
 * stdio, with the audit trail ahead of the replies: before any message leaves on stdout, the
 * telemetry lines held back for batching are written, so a client never holds a result whose
 * audit line is still waiting in this process.
 */
export class AuditFirstStdioTransport extends StdioServerTransport {
  constructor(
    private readonly flushTelemetry: () => void,
    stdin?: Readable,
    stdout?: Writable,
  ) {
    super(stdin, stdout);
  }

  /** The previous reply's write, finished (or failed). */
  private tail: Promise<void> = Promise.resolve();

  /**
   * One reply at a time: the SDK waits for `drain` per write, so concurrent large replies piled
   * up one `drain` listener each on stdout (MaxListenersExceededWarning at eleven) — in order.
   */
  override send(message: JSONRPCMessage): Promise<void> {
    this.flushTelemetry();
    const sent = this.tail.then(() => super.send(message));
    this.tail = sent.catch(() => undefined);
    return sent;
  }
}

/** Serves until stdin closes or a signal arrives; resolves once shutdown is complete. */
export async function serveStdio(
  server: McpServer,
  hooks: { flushTelemetry: () => void; onShutdown: () => Promise<void> },
): Promise<void> {
  const { flushTelemetry, onShutdown } = hooks;
  const transport = new AuditFirstStdioTransport(flushTelemetry);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await onShutdown();
      await server.close();
    })();
    return stopping;
  };
  await server.connect(transport);
  await new Promise<void>((resolve) => {
    const finish = (): void => void stop().then(resolve);
    process.stdin.once('end', finish);
    process.stdin.once('close', finish);
    process.once('SIGTERM', finish);
    process.once('SIGINT', finish);
  });
}
