/**
 * The command policy of one loaded config: decides whether a command may run on a host (see
 * decide.ts for how a command is read and checked) and which limits apply there.
 */
import { DEFAULT_LIMITS } from '../config/schema.js';
import type { EffectiveLimits, LimitOverride, PolicyFile } from '../config/schema.js';
import { decide, type PolicyDecision } from './decide.js';
import type { ShippedPolicy } from './decide-thread.js';
import { decideOffThread, decisionThread, shipping } from './off-thread.js';
import { runInSlices, runToEnd } from '../config/slices.js';
import {
  compilePolicy,
  compilePolicyInSlices,
  denySubstringsFor,
  listedOverrideApplies,
  type CompiledPolicy,
  type PolicyTarget,
} from './rules.js';

export type { BypassInfo, PolicyDecision } from './decide.js';
export type { PolicyTarget } from './rules.js';

const LIMIT_KEYS = ['max_seconds', 'max_output_bytes', 'task_result_ttl', 'task_progress_interval'] as const;

let nextKey = 1;

export class PolicyEngine {
  private readonly compiled: CompiledPolicy;
  /** Names this policy to the decision thread. */
  private readonly key = nextKey++;

  /** Compiles `policy` here and now (tests, small policies); `create` for a loaded config. */
  constructor(
    private readonly policy: PolicyFile,
    compiled: CompiledPolicy = compilePolicy(policy),
    /** The policy as the decision thread takes it; made on first need when not given. */
    private shipped?: ShippedPolicy,
  ) {
    this.compiled = compiled;
  }

  /**
   * The engine for `policy`, compiled — and packed for the decision thread — in slices, so
   * that a large policy never holds the event loop.
   */
  static async create(policy: PolicyFile): Promise<PolicyEngine> {
    const compiled = await compilePolicyInSlices(policy);
    return new PolicyEngine(policy, compiled, await runInSlices(shipping(policy)));
  }

  /** The decision, computed here and now (tests, small commands). */
  decide(target: PolicyTarget, command: string): PolicyDecision {
    return decide(this.compiled, target, command);
  }

  /**
   * The same decision, made on the decision thread when the command line is long (see
   * off-thread.ts), so serving code never holds the event loop for one. Falls back to in-line.
   */
  async decideAsync(target: PolicyTarget, command: string): Promise<PolicyDecision> {
    if (!decideOffThread(command)) return this.decide(target, command);
    try {
      const shipped = (): ShippedPolicy => (this.shipped ??= runToEnd(shipping(this.policy)));
      return (await decisionThread.decide(this.key, shipped, target, command)) ?? this.decide(target, command);
    } catch {
      return this.decide(target, command);
    }
  }

  /** The deny_substrings in force for a host (an override's list replaces the global one). */
  denySubstringsFor(target: PolicyTarget): string[] {
    return denySubstringsFor(this.compiled, target).map((g) => g.pattern);
  }

  /** The decision thread may drop this policy (a reload replaced it). */
  release(): void {
    decisionThread.forget(this.key);
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
    // Python's merge order: the base, the listed overrides that match, tag overrides, the alias's.
    apply(this.policy.limits.default);
    apply(this.policy.limits);
    for (const listed of this.compiled.listedOverrides) if (listedOverrideApplies(listed, target)) apply(listed.limits);
    // Own properties only: a tag called `constructor` must not reach Object.prototype.
    for (const tag of target.tags) apply(ownEntry(this.policy.overrides.tags, tag));
    apply(ownEntry(this.policy.overrides.aliases, target.alias));
    return limits;
  }
}

function ownEntry<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
