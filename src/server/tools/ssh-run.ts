import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { UnknownAliasError, type Admission } from '../../tasks/executor.js';
import type { Task, TaskResult } from '../../tasks/registry.js';
import type { ToolContext } from '../context.js';
import { progressReporter } from '../progress.js';
import { commandResultReply } from '../render.js';
import { aliasArg, commandArg, commandResultShape, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';

/** The tool error for a command the policy refused: what decided, and what the caller can do. */
export function deniedMessage(admission: Extract<Admission, { allowed: false }>): string {
  return (
    // Reasons are sentences already: no second period.
    `denied by policy on ${admission.alias} (rule ${admission.decision.rule}): ${admission.decision.reason.replace(/\.?$/, '.')} ` +
    'Use ssh_plan to see how the policy treats a command; if it should run, an operator must allow it in policy.yml.'
  );
}

/** ssh_run's reply for a finished task: the same whether it was awaited or ran as a Tasks-extension task. */
export function runReply(task: Task, result: TaskResult): CallToolResult {
  const { structured, text } = commandResultReply(task, result);
  // A command that ran and exited non-zero is a result, not a tool failure; one that could not run is.
  return result.error ? fail(text, structured) : ok(structured, text);
}

export function registerSshRun(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'ssh_run',
    {
      title: 'Run a command on a host',
      description:
        'Runs a shell command on one host if the policy allows it, and waits for it to finish (up to the max_seconds limit). ' +
        'Returns exit code, stdout and stderr (each capped at max_output_bytes; binary output as base64; a reply holds at most 4 MiB of output, output_window says how to read the rest). ' +
        'Sends progress notifications when a progressToken is given. ' +
        'For long commands prefer ssh_run_async.',
      inputSchema: toolInput({ alias: aliasArg, command: commandArg }),
      outputSchema: toolOutput(commandResultShape),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async ({ alias, command }, extra) => {
      // The throttle takes the task's own limits once admitted (same config generation as the run).
      let intervalMs = 500;
      const report = progressReporter(extra, () => intervalMs);
      let admission: Admission;
      try {
        admission = await ctx.orchestrator.executor.start({
          alias,
          command,
          async: false,
          signal: extra.mcpReq.signal,
          ...(report
            ? {
                onProgress: (u) =>
                  report(
                    u.elapsed_ms,
                    undefined,
                    `${u.phase}: ${u.bytes_read} bytes after ${u.elapsed_ms} ms`,
                    u.phase !== 'running',
                  ),
              }
            : {}),
        });
      } catch (err) {
        if (err instanceof UnknownAliasError) return fail(err.message);
        throw err;
      }
      if (!admission.allowed) return fail(deniedMessage(admission));
      intervalMs = admission.limits.task_progress_interval * 1000;
      return runReply(admission.task, await admission.done);
    },
  );
}
