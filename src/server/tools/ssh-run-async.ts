import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { UnknownAliasError, type Admission } from '../../tasks/executor.js';
import type { ToolContext } from '../context.js';
import { aliasArg, commandArg, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';
import { deniedMessage } from './ssh-run.js';

export function registerSshRunAsync(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_run_async',
    {
      title: 'Start a command in the background',
      description:
        'Starts a shell command on one host if the policy allows it and returns a task id at once. Poll with ssh_get_task_status, ' +
        'read output while it runs with ssh_get_task_output, fetch the final result with ssh_get_task_result (kept for task_result_ttl ' +
        'seconds), stop it with ssh_cancel_async_task.',
      inputSchema: toolInput({ alias: aliasArg, command: commandArg }),
      outputSchema: toolOutput({
        task_id: z.string(),
        alias: z.string(),
        hash: z.string(),
        state: z.literal('running'),
        max_seconds: z.number(),
        result_ttl_s: z.number(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async ({ alias, command }) => {
      let admission: Admission;
      try {
        admission = await ctx.orchestrator.executor.start({ alias, command, async: true });
      } catch (err) {
        if (err instanceof UnknownAliasError) return fail(err.message);
        throw err;
      }
      if (!admission.allowed) return fail(deniedMessage(admission));
      // The result is collected by the task itself; this keeps an unhandled rejection from ever escaping.
      admission.done.catch(() => undefined);
      const structured = {
        task_id: admission.task.id,
        alias: admission.alias,
        hash: admission.hash,
        state: 'running' as const,
        max_seconds: admission.limits.max_seconds,
        result_ttl_s: admission.limits.task_result_ttl,
      };
      return ok(structured, `started ${structured.task_id} on ${alias}; poll it with ssh_get_task_status`);
    },
  );
}
