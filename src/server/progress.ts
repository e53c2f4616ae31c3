/**
 * MCP progress notifications for a tool call, sent only when the client asked for them with a
 * progressToken, and throttled to the policy's task_progress_interval. Both protocol eras carry
 * the token in the request's `_meta`; the notification goes out tied to the request.
 */
import type { ServerContext } from '@modelcontextprotocol/server';

export type ToolExtra = ServerContext;

export function progressReporter(
  ctx: ToolExtra,
  intervalMs: number | (() => number),
): ((progress: number, total: number | undefined, message: string, force?: boolean) => void) | undefined {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = 0;
  let lastProgress = -1;
  return (progress, total, message, force = false) => {
    const now = Date.now();
    // A chatty command must not flood the client; phase changes always go out.
    if (!force && now - last < (typeof intervalMs === 'function' ? intervalMs() : intervalMs)) return;
    // MCP requires progress to increase with each notification.
    const value = Math.max(progress, lastProgress + 1);
    last = now;
    lastProgress = value;
    void ctx.mcpReq
      .notify({
        method: 'notifications/progress',
        params: { progressToken: token, progress: value, ...(total !== undefined ? { total } : {}), message },
      })
      .catch(() => {
        /* the client went away; the command goes on */
      });
  };
}
