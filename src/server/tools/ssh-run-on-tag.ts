import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { ToolContext } from '../context.js';
import { progressReporter } from '../progress.js';
import { REPLY_OUTPUT_BUDGET_BYTES } from '../command-output.js';
import { commandResultReply } from '../render.js';
import { commandArg, commandResultShape, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';

const hostOutcome = z.object({
  alias: z.string(),
  allowed: z.boolean(),
  rule: z.string(),
  denied_reason: z.string().optional(),
  result: z.object(commandResultShape).optional(),
});

type HostOutcome = z.infer<typeof hostOutcome> & { text: string };

export function registerSshRunOnTag(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_run_on_tag',
    {
      title: 'Run a command on every host with a tag',
      description:
        'Runs a shell command on every host carrying the tag, in parallel under the concurrency limits. The policy is checked ' +
        'per host; denied hosts are reported, not run. Returns one result per host.',
      inputSchema: toolInput({ tag: z.string().min(1).max(100).describe('Tag from servers.yml'), command: commandArg }),
      outputSchema: toolOutput({
        tag: z.string(),
        hosts_total: z.number(),
        succeeded: z.number(),
        failed: z.number(),
        denied: z.number(),
        results: z.array(hostOutcome),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async ({ tag, command }, extra) => {
      const snap = ctx.orchestrator.snapshot;
      const hosts = snap.config.hosts.filter((h) => h.tags.includes(tag));
      if (hosts.length === 0)
        return fail(`no host carries the tag "${tag}": ssh_list_hosts shows the tags of each host`);
      const report = progressReporter(extra, 0);
      // The reply's output budget, shared by the hosts; each result says how to read the rest of its output.
      const budget = Math.floor(REPLY_OUTPUT_BUDGET_BYTES / hosts.length);
      let finished = 0;
      const outcomes = await Promise.all(
        hosts.map(async (host): Promise<HostOutcome> => {
          const admission = await ctx.orchestrator.executor.admit(snap, host, {
            alias: host.alias,
            command,
            async: false,
            signal: extra.mcpReq.signal,
          });
          if (!admission.allowed) {
            report?.(++finished, hosts.length, `${host.alias}: denied`);
            const { rule, reason } = admission.decision;
            return {
              alias: host.alias,
              allowed: false,
              rule,
              denied_reason: reason,
              text: `[${host.alias}] denied (rule ${rule}): ${reason}`,
            };
          }
          const result = await admission.done;
          report?.(++finished, hosts.length, `${host.alias}: ${result.error ? 'failed' : `exit ${result.exit_code}`}`);
          const { structured, text } = commandResultReply(admission.task, result, { budget });
          return {
            alias: host.alias,
            allowed: true,
            rule: admission.decision.rule,
            result: structured as z.infer<typeof hostOutcome>['result'],
            text,
          };
        }),
      );
      const denied = outcomes.filter((o) => !o.allowed).length;
      const succeeded = outcomes.filter((o) => o.result && !o.result.error && o.result.exit_code === 0).length;
      const structured = {
        tag,
        hosts_total: hosts.length,
        succeeded,
        failed: hosts.length - denied - succeeded,
        denied,
        results: outcomes.map(({ text: _text, ...outcome }) => outcome),
      };
      const text = [
        `tag ${tag}: ${succeeded} succeeded, ${structured.failed} failed, ${denied} denied of ${hosts.length}`,
        ...outcomes.map((o) => o.text),
      ].join('\n');
      return ok(structured, text);
    },
  );
}
