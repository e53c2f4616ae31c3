/** Text renderings of tool results, for clients that show text rather than structured content. */
import type { TaskResult } from '../tasks/registry.js';

function killed(r: TaskResult): string {
  return r.remote_stopped === false
    ? 'kill signal sent but not confirmed: the process may still run'
    : 'process killed';
}

export function renderCommandResult(r: TaskResult): string {
  const status = r.error
    ? `failed: ${r.error}`
    : r.timeout
      ? `timed out (${killed(r)})`
      : r.cancelled
        ? `cancelled (${killed(r)})`
        : `exit ${r.exit_code}`;
  const parts = [`[${r.alias}] ${status} in ${r.duration_ms} ms (task ${r.task_id}, target ${r.target_ip ?? 'n/a'})`];
  if (r.stdout) parts.push(`--- stdout ---\n${r.stdout}`);
  if (r.stderr) parts.push(`--- stderr ---\n${r.stderr}`);
  if (r.truncated) parts.push('(output truncated at max_output_bytes)');
  return parts.join('\n');
}
