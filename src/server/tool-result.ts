/** Builders for tool results: structuredContent for programs plus a text rendering for people. */
import type { CallToolResult } from '@modelcontextprotocol/server';

export function ok(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

/** A tool error: the message says what happened and what to do next. */
export function fail(message: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: message }],
    ...(structured ? { structuredContent: structured } : {}),
  };
}
