/**
 * MCP progress notifications for a tool call, sent only when the client asked for them with a
 * progressToken, and throttled to the policy's task_progress_interval.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export function progressReporter(
  extra: ToolExtra,
  intervalMs: number | (() => number),
): ((progress: number, total: number | undefined, message: string, force?: boolean) => void) | undefined {
  const token = extra._meta?.progressToken;
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
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: value, ...(total !== undefined ? { total } : {}), message },
      })
      .catch(() => {
        /* the client went away; the command goes on */
      });
  };
}
