import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { HostConfig } from '../../config/schema.js';
import type { ToolContext } from '../context.js';
import { hostSummaryShape, toolInput, toolOutput } from '../schemas.js';
import { ok } from '../tool-result.js';

export function hostSummary(h: HostConfig): z.infer<typeof hostSummaryShape> {
  return {
    alias: h.alias,
    host: h.host,
    port: h.port,
    tags: h.tags,
    description: h.description,
    credentials: h.credentials ?? null,
  };
}

export function registerSshListHosts(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_list_hosts',
    {
      title: 'List hosts',
      description:
        'Lists the host aliases in servers.yml with their address, port, tags and description. Optionally only hosts with a tag.',
      inputSchema: toolInput({ tag: z.string().min(1).max(100).optional().describe('Only hosts carrying this tag') }),
      outputSchema: toolOutput({ hosts: z.array(hostSummaryShape) }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ tag }) => {
      const hosts = ctx.orchestrator.snapshot.config.hosts
        .filter((h) => tag === undefined || h.tags.includes(tag))
        .map(hostSummary);
      const text = hosts.length
        ? hosts.map((h) => `${h.alias}\t${h.host}:${h.port}\t[${h.tags.join(', ')}]\t${h.description}`).join('\n')
        : tag === undefined
          ? 'no hosts configured: add them to servers.yml and call ssh_reload_config'
          : `no host carries the tag "${tag}"`;
      return ok({ hosts }, text);
    },
  );
}
