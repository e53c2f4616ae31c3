import type { Orchestrator } from '../orchestrator.js';

/** What every tool handler may use. */
export interface ToolContext {
  orchestrator: Orchestrator;
  version: string;
  startedAt: number;
}
