import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { toolInput, toolOutput } from '../schemas.js';
import type { ToolContext } from '../context.js';
import { fail, ok } from '../tool-result.js';

export function registerSshReloadConfig(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_reload_config',
    {
      title: 'Reload configuration',
      description:
        'Re-reads servers.yml, credentials.yml, policy.yml and known_hosts. If any file is invalid the running config stays in ' +
        'force and the error says which file, line and field to fix. Commands already running keep the config they started with.',
      inputSchema: toolInput({}),
      outputSchema: toolOutput({ reloaded: z.boolean(), generation: z.number(), hosts: z.number(), rules: z.number() }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () => {
      const orch = ctx.orchestrator;
      try {
        const snap = await orch.reload();
        const structured = {
          reloaded: true,
          generation: snap.generation,
          hosts: snap.config.hosts.length,
          rules: snap.config.policy.rules.length,
        };
        return ok(
          structured,
          `config reloaded (generation ${snap.generation}): ${structured.hosts} hosts, ${structured.rules} rules`,
        );
      } catch (err) {
        const snap = orch.snapshot;
        const message = err instanceof Error ? err.message : String(err);
        return fail(
          `config NOT reloaded; generation ${snap.generation} stays in force. Fix this and reload again:\n${message}`,
          {
            reloaded: false,
            generation: snap.generation,
            hosts: snap.config.hosts.length,
            rules: snap.config.policy.rules.length,
          },
        );
      }
    },
  );
}
