/** The tools that look at or stop a task by id: status, result, live output, cancel. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Task } from '../../tasks/registry.js';
import type { ToolContext } from '../context.js';
import { renderCommandResult } from '../render.js';
import { commandResultShape, taskIdArg, taskStatusShape, toolInput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';

const readOnly = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

function unknownTask(id: string): ReturnType<typeof fail> {
  return fail(`unknown task "${id}": it never existed or its result expired after task_result_ttl seconds`);
}

function statusOf(task: Task): z.infer<z.ZodObject<typeof taskStatusShape>> {
  return {
    task_id: task.id,
    alias: task.alias,
    hash: task.hash,
    state: task.state,
    phase: task.phase,
    elapsed_ms: task.elapsedMs,
    bytes_read: task.bytesRead,
    async: task.isAsync,
  };
}

export function registerTaskTools(server: McpServer, ctx: ToolContext): void {
  const tasks = ctx.orchestrator.tasks;

  server.registerTool(
    'ssh_get_task_status',
    {
      title: 'Task status',
      description:
        'State (running, completed, failed, cancelled, timeout), phase, elapsed time and bytes read of a task.',
      inputSchema: toolInput({ task_id: taskIdArg }),
      outputSchema: taskStatusShape,
      annotations: readOnly,
    },
    ({ task_id }) => {
      const task = tasks.get(task_id);
      if (!task) return unknownTask(task_id);
      const s = statusOf(task);
      return ok(s, `${s.task_id} on ${s.alias}: ${s.state} (${s.phase}), ${s.elapsed_ms} ms, ${s.bytes_read} bytes`);
    },
  );

  server.registerTool(
    'ssh_get_task_result',
    {
      title: 'Task result',
      description:
        'The final result of a finished task (exit code, stdout, stderr). While it still runs this says so; poll again later.',
      inputSchema: toolInput({ task_id: taskIdArg }),
      outputSchema: commandResultShape,
      annotations: readOnly,
    },
    ({ task_id }) => {
      const task = tasks.get(task_id);
      if (!task) return unknownTask(task_id);
      if (!task.result) {
        return fail(
          `task ${task_id} is still running (${task.elapsedMs} ms so far): poll again, or read partial output with ssh_get_task_output`,
        );
      }
      return ok({ ...task.result }, renderCommandResult(task.result));
    },
  );

  server.registerTool(
    'ssh_get_task_output',
    {
      title: 'Task output so far',
      description:
        'Output lines of a task, available while it still runs. Pass the next_offset of the previous call as offset to read only new lines.',
      inputSchema: toolInput({
        task_id: taskIdArg,
        offset: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe('Line offset to start from (next_offset of the previous call)'),
        max_lines: z.number().int().min(1).max(5000).default(500),
      }),
      outputSchema: {
        task_id: z.string(),
        state: taskStatusShape.state,
        lines: z.array(z.object({ stream: z.enum(['stdout', 'stderr']), text: z.string() })),
        partial: z.array(z.object({ stream: z.enum(['stdout', 'stderr']), text: z.string() })),
        next_offset: z.number(),
        dropped: z.number(),
      },
      annotations: readOnly,
    },
    ({ task_id, offset, max_lines }) => {
      const task = tasks.get(task_id);
      if (!task) return unknownTask(task_id);
      const out = task.outputSince(offset, max_lines);
      const structured = { task_id, state: task.state, ...out };
      const text = [...out.lines, ...out.partial]
        .map((l) => (l.stream === 'stderr' ? `[stderr] ${l.text}` : l.text))
        .join('\n');
      return ok(structured, text || `(no new output; task is ${task.state})`);
    },
  );

  const cancelTool = (name: string, title: string, description: string): void => {
    server.registerTool(
      name,
      {
        title,
        description,
        inputSchema: toolInput({ task_id: taskIdArg }),
        outputSchema: { task_id: z.string(), cancelled: z.boolean(), state: taskStatusShape.state },
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      },
      async ({ task_id }) => {
        const task = tasks.get(task_id);
        if (!task) return unknownTask(task_id);
        const cancelled = tasks.cancel(task_id);
        if (cancelled) await task.settled;
        const structured = { task_id, cancelled, state: task.state };
        return ok(structured, cancelled ? `cancelled ${task_id}` : `${task_id} was not running (state ${task.state})`);
      },
    );
  };
  cancelTool(
    'ssh_cancel',
    'Cancel a task',
    'Cancels a running command by task id (sync or async); the remote process is signalled and the channel closed.',
  );
  cancelTool(
    'ssh_cancel_async_task',
    'Cancel an async task',
    'Cancels a task started with ssh_run_async; the remote process is signalled and the channel closed.',
  );
}
