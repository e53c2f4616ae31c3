/** Text renderings of tool results, for clients that show text rather than structured content. */
import type { Task, TaskResult } from '../tasks/registry.js';
import { outputReply, type OutputReply, type StreamWindow } from './command-output.js';

function killed(r: TaskResult): string {
  return r.remote_stopped === false
    ? 'kill signal sent but not confirmed: the process may still run'
    : 'process killed';
}

function streamText(name: 'stdout' | 'stderr', reply: OutputReply): string | undefined {
  const window: StreamWindow | undefined = reply.output_window?.[name];
  const range = window ? ` (bytes ${window.offset}–${window.offset + window.bytes} of ${window.kept})` : '';
  if (reply[`${name}_encoding`] === 'base64') {
    const bytes = window?.kept ?? Buffer.from(reply[name], 'base64').length;
    // Base64 means nothing to a reader: say what it is; the bytes are in structuredContent.
    return bytes > 0
      ? `--- ${name}: binary, ${bytes} bytes (base64 in structuredContent.${name})${range} ---`
      : undefined;
  }
  return reply[name] ? `--- ${name}${range} ---\n${reply[name]}` : undefined;
}

export function renderCommandResult(r: TaskResult, reply: OutputReply): string {
  const status = r.error
    ? `failed: ${r.error}`
    : r.timeout
      ? `timed out (${killed(r)})`
      : r.cancelled
        ? `cancelled (${killed(r)})`
        : `exit ${r.exit_code}`;
  const parts = [`[${r.alias}] ${status} in ${r.duration_ms} ms (task ${r.task_id}, target ${r.target_ip ?? 'n/a'})`];
  for (const name of ['stdout', 'stderr'] as const) {
    const text = streamText(name, reply);
    if (text) parts.push(text);
  }
  if (r.truncated) parts.push('(output truncated at max_output_bytes)');
  if (reply.output_window?.read_more) parts.push(`(more output kept: read on with ${reply.output_window.read_more})`);
  return parts.join('\n');
}

/** A finished task's result with its output, as structuredContent and text, within the reply budget. */
export function commandResultReply(
  task: Task,
  result: TaskResult,
  opts?: Parameters<typeof outputReply>[2],
): { structured: Record<string, unknown>; text: string } {
  const reply = outputReply(task.id, task.captured, opts);
  return { structured: { ...result, ...reply }, text: renderCommandResult(result, reply) };
}
