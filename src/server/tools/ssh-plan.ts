import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { addressVerdicts, planCommand, type AddressVerdict } from '../../tasks/plan.js';
import { commandHash } from '../../telemetry/command-hash.js';
import type { ToolContext } from '../context.js';
import { aliasArg, commandArg, limitsShape, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';

export function registerSshPlan(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_plan',
    {
      title: 'Plan a command (dry run)',
      description:
        'Dry run: says whether the policy would allow the command on the host, which rule decides, the exact text that would be sent ' +
        '(the canonical print of what was checked), the programs it would run and files it would write, the limits that would apply, ' +
        'the resolved addresses and the network verdict for each. Nothing is executed and no connection is made.',
      inputSchema: toolInput({ alias: aliasArg, command: commandArg }),
      outputSchema: toolOutput({
        alias: z.string(),
        hash: z.string(),
        allowed: z.boolean(),
        rule: z.string(),
        reason: z.string(),
        segments: z.array(z.string()),
        sent: z.string().optional().describe('Allowed: the exact text sent over SSH'),
        sent_hash: z.string().optional().describe('Allowed, when the sent text differs from the command: its hash'),
        programs: z.array(z.string()).describe('Every program the command would run, nested ones included'),
        writes: z.array(z.string()).describe('Every file the command may write'),
        unchecked: z.boolean().optional().describe("Sent as written under a rule's allow_syntax, unchecked"),
        limits: limitsShape,
        resolved_ips: z.array(z.string()),
        network: z.array(z.object({ ip: z.string(), allowed: z.boolean(), reason: z.string() })),
        network_error: z.string().optional(),
        would_run: z.boolean(),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async ({ alias, command }) => {
      const snap = ctx.orchestrator.snapshot;
      const host = snap.config.hostsByAlias.get(alias);
      if (!host) return fail(`unknown host alias "${alias}": ssh_list_hosts lists the configured aliases`);
      // The same admission a run goes through (tasks/plan.ts), reported instead of acted on.
      const { decision, limits } = await planCommand(snap, host, command);
      let network: AddressVerdict[] = [];
      let networkError: string | undefined;
      try {
        network = await addressVerdicts(snap, host);
      } catch (err) {
        networkError = (err as Error).message;
      }
      const wouldRun = decision.allowed && network.some((n) => n.allowed);
      const structured = {
        alias: host.alias,
        hash: commandHash(command),
        allowed: decision.allowed,
        rule: decision.rule,
        reason: decision.reason,
        segments: decision.segments,
        ...(decision.sent !== undefined ? { sent: decision.sent } : {}),
        ...(decision.sent !== undefined && decision.sent !== command ? { sent_hash: commandHash(decision.sent) } : {}),
        programs: decision.programs,
        writes: decision.writes,
        ...(decision.unchecked ? { unchecked: true } : {}),
        limits,
        resolved_ips: network.map((n) => n.ip),
        network,
        ...(networkError !== undefined ? { network_error: networkError } : {}),
        would_run: wouldRun,
      };
      const text = [
        `${decision.allowed ? 'ALLOWED' : 'DENIED'} by ${decision.rule}: ${decision.reason}`,
        ...(decision.sent !== undefined ? [`sends: ${decision.sent}`] : []),
        `limits: ${limits.max_seconds}s, ${limits.max_output_bytes} bytes`,
        networkError
          ? `network: ${networkError}`
          : `network: ${network.map((n) => `${n.ip} ${n.allowed ? 'allowed' : `blocked (${n.reason})`}`).join(', ')}`,
        `would run: ${wouldRun ? 'yes' : 'no'}`,
      ].join('\n');
      return ok(structured, text);
    },
  );
}
