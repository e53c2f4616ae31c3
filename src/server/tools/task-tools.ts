/** The tools that look at or stop a task by id: status, result, live output, cancel. */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Task } from '../../tasks/registry.js';
import type { ToolContext } from '../context.js';
import { encodedSize, REPLY_OUTPUT_BUDGET_BYTES } from '../command-output.js';
import { commandResultReply } from '../render.js';
import { commandResultShape, taskIdArg, taskStatusShape, toolInput, toolOutput } from '../schemas.js';
import { fail, ok } from '../tool-result.js';

const outputLine = z.object({
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
  continued: z.literal(true).optional().describe('The line goes on in the next line of the same stream'),
});

/** JSON around one line's text in both copies: `{"stream":"stderr","text":…,"continued":true}`, `[stderr] `, newline. */
const LINE_OVERHEAD_BYTES = 64;

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
      outputSchema: toolOutput(taskStatusShape),
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
        'The final result of a finished task (exit code, stdout, stderr). While it still runs this says so; poll again later. ' +
        'A reply holds at most 4 MiB of output: pass stdout_offset / stderr_offset (from output_window) to read on.',
      inputSchema: toolInput({
        task_id: taskIdArg,
        stdout_offset: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Byte offset into the kept stdout (output_window.stdout.next_offset)'),
        stderr_offset: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Byte offset into the kept stderr (output_window.stderr.next_offset)'),
      }),
      outputSchema: toolOutput(commandResultShape),
      annotations: readOnly,
    },
    ({ task_id, stdout_offset, stderr_offset }) => {
      const task = tasks.get(task_id);
      if (!task) return unknownTask(task_id);
      if (!task.result) {
        return fail(
          `task ${task_id} is still running (${task.elapsedMs} ms so far): poll again, or read partial output with ssh_get_task_output`,
        );
      }
      const { structured, text } = commandResultReply(task, task.result, {
        ...(stdout_offset !== undefined ? { stdoutOffset: stdout_offset } : {}),
        ...(stderr_offset !== undefined ? { stderrOffset: stderr_offset } : {}),
      });
      return ok(structured, text);
    },
  );

  server.registerTool(
    'ssh_get_task_output',
    {
      title: 'Task output so far',
      description:
        'Output lines of a task, available while it still runs. Pass the next_offset of the previous call as offset to read only new lines. ' +
        'A line longer than 64 KiB comes in pieces marked continued; a reply holds at most 4 MiB.',
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
      outputSchema: toolOutput({
        task_id: z.string(),
        state: taskStatusShape.state,
        lines: z.array(outputLine),
        partial: z.array(outputLine),
        next_offset: z.number(),
        dropped: z.number(),
      }),
      annotations: readOnly,
    },
    ({ task_id, offset, max_lines }) => {
      const task = tasks.get(task_id);
      if (!task) return unknownTask(task_id);
      // Each line goes out twice (text and structured): stop before the reply outgrows its budget.
      let spent = 0;
      const out = task.outputSince(offset, max_lines, (line) => {
        spent += 2 * encodedSize(line.text) + LINE_OVERHEAD_BYTES;
        return spent <= REPLY_OUTPUT_BUDGET_BYTES;
      });
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
        outputSchema: toolOutput({ task_id: z.string(), cancelled: z.boolean(), state: taskStatusShape.state }),
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
