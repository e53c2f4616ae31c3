import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { ToolContext } from '../context.js';
import { aliasArg, hostSummaryShape, limitsShape, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';
import { hostSummary } from './ssh-list-hosts.js';

export function registerSshDescribeHost(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_describe_host',
    {
      title: 'Describe a host',
      description:
        'Shows one host: address, port, tags, description, the SSH user it connects as and the limits that apply to it.',
      inputSchema: toolInput({ alias: aliasArg }),
      outputSchema: toolOutput({ host: hostSummaryShape, username: z.string().nullable(), limits: limitsShape }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ alias }) => {
      const snap = ctx.orchestrator.snapshot;
      const host = snap.config.hostsByAlias.get(alias);
      if (!host) return fail(`unknown host alias "${alias}": ssh_list_hosts lists the configured aliases`);
      const username = host.credentials ? (snap.config.credentials.get(host.credentials)?.username ?? null) : null;
      const limits = snap.policy.limitsFor({ alias: host.alias, tags: host.tags });
      const structured = { host: hostSummary(host), username, limits };
      const text = [
        `${host.alias}: ${username ?? '?'}@${host.host}:${host.port}`,
        `tags: ${host.tags.join(', ') || '(none)'}`,
        host.description && `description: ${host.description}`,
        `limits: ${limits.max_seconds}s, ${limits.max_output_bytes} bytes of output`,
      ]
        .filter(Boolean)
        .join('\n');
      return ok(structured, text);
    },
  );
}
