/**
 * One SERVER span per MCP tool call, named and attributed per the MCP semantic conventions
 * (`tools/call ssh_run`, mcp.method.name, gen_ai.tool.name, gen_ai.operation.name), parented on
 * the client's trace context when it sends `traceparent` in `params._meta`. The SDK lifts only
 * the reserved `io.modelcontextprotocol/*` keys out of `_meta` (the 2026-07-28 envelope), so
 * `traceparent` reads the same in both eras.
 */
import type { CallToolResult, InputRequiredResult, McpServer } from '@modelcontextprotocol/server';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_REQUEST_ID,
} from '../telemetry/semconv.js';
import { contextFromMeta, inSpan, SpanKind } from '../telemetry/spans.js';
import type { ToolExtra } from './progress.js';

type ToolReturn = CallToolResult | InputRequiredResult;
type AnyHandler = (...args: unknown[]) => ToolReturn | Promise<ToolReturn>;

/** Runs one tool call inside its SERVER span, parented on the client's trace context. */
export function inToolCallSpan<R extends ToolReturn | Record<string, unknown>>(
  name: string,
  extra: ToolExtra,
  run: () => R | Promise<R>,
): Promise<R> {
  const attributes = {
    [ATTR_MCP_METHOD_NAME]: 'tools/call',
    [ATTR_GEN_AI_TOOL_NAME]: name,
    [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
    [ATTR_MCP_REQUEST_ID]: String(extra.mcpReq.id),
  };
  return inSpan(
    `tools/call ${name}`,
    attributes,
    async (span) => {
      const result = await run();
      if ('isError' in result && result.isError === true) span.setAttribute(ATTR_ERROR_TYPE, 'tool_error');
      return result;
    },
    { kind: SpanKind.SERVER, parent: contextFromMeta(extra.mcpReq._meta as Record<string, unknown> | undefined) },
  );
}

/** Makes every tool registered on `server` from now on run inside its tool-call span. */
export function traceToolCalls(server: McpServer): void {
  const register = server.registerTool.bind(server) as (name: string, config: unknown, handler: AnyHandler) => unknown;
  const traced = (name: string, config: unknown, handler: AnyHandler): unknown =>
    register(name, config, (...args: unknown[]) => {
      // The SDK passes (args, ctx) for tools with an input schema and (ctx) for those without.
      const extra = args[args.length - 1] as ToolExtra;
      return inToolCallSpan(name, extra, () => handler(...args));
    });
  (server as unknown as { registerTool: typeof traced }).registerTool = traced;
}
