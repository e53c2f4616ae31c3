import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Orchestrator } from '../orchestrator.js';

/** What every tool handler may use. */
export interface ToolContext {
  orchestrator: Orchestrator;
  version: string;
  startedAt: number;
}

/**
 * The client capabilities a 2026-07-28 request carries in its own `_meta` envelope, or undefined
 * for a 2025-era request (whose capabilities were declared once, at initialize).
 */
export function requestCapabilities(
  ctx: ServerContext,
): (ClientCapabilities & { extensions?: Record<string, unknown> }) | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const caps = envelope?.[CLIENT_CAPABILITIES_META_KEY];
  return caps !== null && typeof caps === 'object' ? (caps as ClientCapabilities) : undefined;
}
