import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { toolInput, toolOutput } from '../schemas.js';
import type { ToolContext } from '../context.js';
import { ok } from '../tool-result.js';

export function registerSshPing(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_ping',
    {
      title: 'Ping the orchestrator',
      description:
        'Health check: confirms the server is up and shows its version, uptime and how many hosts are configured.',
      inputSchema: toolInput({}),
      outputSchema: toolOutput({
        ok: z.boolean(),
        version: z.string(),
        uptime_s: z.number(),
        hosts: z.number(),
        config_generation: z.number(),
        running_tasks: z.number(),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    () => {
      const snap = ctx.orchestrator.snapshot;
      const structured = {
        ok: true,
        version: ctx.version,
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
        hosts: snap.config.hosts.length,
        config_generation: snap.generation,
        running_tasks: ctx.orchestrator.tasks.running().length,
      };
      return ok(structured, `pong — mcp-ssh-orchestrator ${ctx.version}, ${structured.hosts} hosts configured`);
    },
  );
}
