/** Text renderings of tool results, for clients that show text rather than structured content. */
import type { TaskResult } from '../tasks/registry.js';

export function renderCommandResult(r: TaskResult): string {
  const status = r.error
    ? `failed: ${r.error}`
    : r.timeout
      ? 'timed out (process killed)'
      : r.cancelled
        ? 'cancelled'
        : `exit ${r.exit_code}`;
  const parts = [`[${r.alias}] ${status} in ${r.duration_ms} ms (task ${r.task_id}, target ${r.target_ip ?? 'n/a'})`];
  if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
  if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
  if (r.truncated) parts.push('(output truncated at max_output_bytes)');
  return parts.join('\n');
}
