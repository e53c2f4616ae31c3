/**
 * One SERVER span per MCP tool call, named and attributed per the MCP semantic conventions
 * (`tools/call ssh_run`, mcp.method.name, gen_ai.tool.name, gen_ai.operation.name), parented on
 * the client's trace context when it sends `traceparent` in `params._meta`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_REQUEST_ID,
} from '../telemetry/semconv.js';
import { contextFromMeta, inSpan, SpanKind } from '../telemetry/spans.js';
import type { ToolExtra } from './progress.js';

type AnyHandler = (...args: unknown[]) => CallToolResult | Promise<CallToolResult>;

/** Makes every tool registered on `server` from now on run inside its tool-call span. */
export function traceToolCalls(server: McpServer): void {
  const register = server.registerTool.bind(server) as (name: string, config: unknown, handler: AnyHandler) => unknown;
  const traced = (name: string, config: unknown, handler: AnyHandler): unknown =>
    register(name, config, (...args: unknown[]) => {
      // The SDK passes (args, extra) for tools with an input schema and (extra) for those without.
      const extra = args[args.length - 1] as ToolExtra;
      const attributes = {
        [ATTR_MCP_METHOD_NAME]: 'tools/call',
        [ATTR_GEN_AI_TOOL_NAME]: name,
        [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
        [ATTR_MCP_REQUEST_ID]: String(extra.requestId),
      };
      return inSpan(
        `tools/call ${name}`,
        attributes,
        async (span) => {
          const result = await handler(...args);
          if (result.isError) span.setAttribute(ATTR_ERROR_TYPE, 'tool_error');
          return result;
        },
        { kind: SpanKind.SERVER, parent: contextFromMeta(extra._meta as Record<string, unknown> | undefined) },
      );
    });
  (server as unknown as { registerTool: typeof traced }).registerTool = traced;
}
