/** zod shapes shared by several tools' input and output schemas. */
import { z } from 'zod';

export const aliasArg = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._-]+$/, 'an alias from ssh_list_hosts (letters, digits, . _ -)')
  .describe('Host alias from servers.yml (see ssh_list_hosts)');

export const commandArg = z.string().min(1).max(16_384).describe('Shell command to run on the host');

export const taskIdArg = z
  .string()
  .regex(/^task_[0-9a-f]{16}$/, 'a task id as returned by ssh_run_async or ssh_run (task_ followed by 16 hex digits)')
  .describe('Task id returned by ssh_run_async (or shown in an ssh_run result)');

export const limitsShape = z.object({
  max_seconds: z.number(),
  max_output_bytes: z.number(),
  task_result_ttl: z.number(),
  task_progress_interval: z.number(),
});

const outputEncoding = z
  .enum(['utf8', 'base64'])
  .describe('utf8 for text; base64 for binary output (a NUL byte, or bytes that are not UTF-8)');

const streamWindow = z.object({
  offset: z.number().describe('Byte offset of the first output byte in this reply'),
  bytes: z.number().describe('Output bytes in this reply'),
  kept: z.number().describe('Bytes kept for the stream (at most max_output_bytes)'),
  next_offset: z.number().nullable().describe('Offset to read on from, or null at the end of what was kept'),
});

export const commandResultShape = {
  task_id: z.string(),
  alias: z.string(),
  hash: z.string(),
  exit_code: z.number(),
  stdout: z.string().describe('Output as text, or base64 when stdout_encoding says so'),
  stderr: z.string().describe('Output as text, or base64 when stderr_encoding says so'),
  stdout_encoding: outputEncoding,
  stderr_encoding: outputEncoding,
  output_window: z
    .object({ stdout: streamWindow, stderr: streamWindow, read_more: z.string().optional() })
    .optional()
    .describe(
      'Present when this reply holds less than all the output kept: which bytes it holds, and the call that reads on',
    ),
  bytes_out: z.number(),
  bytes_err: z.number(),
  truncated: z.boolean(),
  duration_ms: z.number(),
  cancelled: z.boolean(),
  timeout: z.boolean(),
  target_ip: z.string().nullable(),
  error: z.string().optional(),
  remote_stopped: z.boolean().optional(),
};

export const hostSummaryShape = z.object({
  alias: z.string(),
  host: z.string(),
  port: z.number(),
  tags: z.array(z.string()),
  description: z.string(),
  credentials: z.string().nullable(),
});

export const taskStatusShape = {
  task_id: z.string(),
  alias: z.string(),
  hash: z.string(),
  state: z.enum(['running', 'completed', 'failed', 'cancelled', 'timeout']),
  phase: z.enum(['pending', 'connecting', 'connected', 'running', 'done']),
  elapsed_ms: z.number(),
  bytes_read: z.number(),
  async: z.boolean(),
};

/**
 * A tool's arguments as a strict object: an argument the tool does not know is an error that
 * names it (a misspelt `comand` must not silently run nothing), and the published JSON Schema
 * says `additionalProperties: false`.
 */
export function toolInput<Shape extends z.ZodRawShape>(shape: Shape): z.ZodObject<Shape, z.core.$strict> {
  return z.object(shape).strict();
}

/**
 * A tool's structured result as a zod object (the SDK takes schema objects; the published output
 * schema is its JSON Schema). Not strict: a newer server may add a field an older client ignores.
 */
export function toolOutput<Shape extends z.ZodRawShape>(shape: Shape): z.ZodObject<Shape> {
  return z.object(shape);
}
