/** MCP resources: the host inventory as JSON, whole (`ssh://hosts`) and per alias (`ssh://host/{alias}`). */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ToolContext } from './context.js';

/** The MCP specification's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;
import { hostSummary } from './tools/ssh-list-hosts.js';

export function registerResources(server: McpServer, ctx: ToolContext): void {
  server.registerResource(
    'hosts',
    'ssh://hosts',
    {
      title: 'SSH hosts',
      description: 'All configured host aliases with address, port, tags and description',
      mimeType: 'application/json',
    },
    (uri) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ hosts: ctx.orchestrator.snapshot.config.hosts.map(hostSummary) }, null, 2),
        },
      ],
    }),
  );

  server.registerResource(
    'host',
    new ResourceTemplate('ssh://host/{alias}', {
      list: () => ({
        resources: ctx.orchestrator.snapshot.config.hosts.map((h) => ({
          uri: `ssh://host/${h.alias}`,
          name: h.alias,
          description: h.description || `${h.host}:${h.port}`,
          mimeType: 'application/json',
        })),
      }),
    }),
    {
      title: 'SSH host',
      description: 'One host alias with its address, tags and effective limits',
      mimeType: 'application/json',
    },
    (uri, { alias }) => {
      const snap = ctx.orchestrator.snapshot;
      const name = Array.isArray(alias) ? alias[0] : alias;
      const host = name === undefined ? undefined : snap.config.hostsByAlias.get(name);
      if (!host)
        throw new McpError(RESOURCE_NOT_FOUND, `unknown host alias "${String(name)}": read ssh://hosts for the list`, {
          uri: uri.href,
        });
      const limits = snap.policy.limitsFor({ alias: host.alias, tags: host.tags });
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ ...hostSummary(host), limits }, null, 2),
          },
        ],
      };
    },
  );
}
