/**
 * The worker side of off-thread.ts: decides long command lines away from the event loop.
 * Policies arrive once per engine (by key) and are compiled here; decisions go back as plain
 * objects. Nothing here writes to stdout or stderr.
 */
import { parentPort } from 'node:worker_threads';
import type { PolicyFile } from '../config/schema.js';
import { decide } from './decide.js';
import { compilePolicy, type CompiledPolicy, type PolicyTarget } from './rules.js';

/**
 * A policy as it crosses to the thread: everything but the rules, and the rules as JSON
 * chunks (strings copy in microseconds; a structured clone of 2,000 rule objects held the
 * event loop for 7-30 ms).
 */
export interface ShippedPolicy {
  meta: Omit<PolicyFile, 'rules'>;
  ruleChunks: string[];
}

export type ThreadRequest =
  | { kind: 'policy'; key: number; policy: ShippedPolicy }
  | { kind: 'forget'; key: number }
  | { kind: 'decide'; id: number; key: number; target: PolicyTarget; command: string };

const policies = new Map<number, CompiledPolicy>();

parentPort?.on('message', (request: ThreadRequest) => {
  switch (request.kind) {
    case 'policy': {
      const rules = request.policy.ruleChunks.flatMap((chunk) => JSON.parse(chunk) as PolicyFile['rules']);
      policies.set(request.key, compilePolicy({ ...request.policy.meta, rules }));
      return;
    }
    case 'forget':
      policies.delete(request.key);
      return;
    case 'decide': {
      const compiled = policies.get(request.key);
      try {
        if (compiled === undefined) throw new Error(`policy ${request.key} was never sent`);
        parentPort?.postMessage({ id: request.id, decision: decide(compiled, request.target, request.command) });
      } catch (err) {
        parentPort?.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
});
