/**
 * The command policy of one loaded config: decides whether a command may run on a host (see
 * decide.ts for how a command is read and checked) and which limits apply there.
 */
import { DEFAULT_LIMITS } from '../config/schema.js';
import type { EffectiveLimits, LimitOverride, PolicyFile } from '../config/schema.js';
import { decide, type PolicyDecision } from './decide.js';
import { compilePolicy, type CompiledPolicy, type PolicyTarget } from './rules.js';

export type { BypassInfo, PolicyDecision } from './decide.js';
export type { PolicyTarget } from './rules.js';

const LIMIT_KEYS = ['max_seconds', 'max_output_bytes', 'task_result_ttl', 'task_progress_interval'] as const;

export class PolicyEngine {
  private readonly compiled: CompiledPolicy;

  constructor(private readonly policy: PolicyFile) {
    this.compiled = compilePolicy(policy);
  }

  decide(target: PolicyTarget, command: string): PolicyDecision {
    return decide(this.compiled, target, command);
  }

  limitsFor(target: PolicyTarget): EffectiveLimits {
    const limits: EffectiveLimits = { ...DEFAULT_LIMITS };
    const apply = (source: LimitOverride | undefined): void => {
      if (source === undefined) return;
      for (const key of LIMIT_KEYS) {
        const value = source[key];
        if (value !== undefined) limits[key] = value;
      }
    };
    apply(this.policy.limits);
    // Own properties only: a tag called `constructor` must not reach Object.prototype.
    for (const tag of target.tags) apply(ownEntry(this.policy.overrides.tags, tag));
    apply(ownEntry(this.policy.overrides.aliases, target.alias));
    return limits;
  }
}

function ownEntry<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
