/**
 * policy.yml rules compiled for matching: which hosts a rule applies to, its command globs,
 * and what it lets the commands it admits do beyond running (`write_paths`, `allow_exec`,
 * `allow_syntax`).
 */
import type { PolicyFile, RuleConfig } from '../config/schema.js';
import { runInSlices, runToEnd } from '../config/slices.js';
import { compileDenySubstring, compileGlob, type Glob } from './glob.js';

export interface PolicyTarget {
  alias: string;
  tags: readonly string[];
}

export interface CompiledRule {
  name: string;
  aliases: Glob[];
  tags: Glob[];
  commands: Glob[];
  /** The command globs matched anywhere in a text (deny rules against unchecked text); empty on allow rules. */
  commandsAnywhere: Glob[];
  /** Exec-capable features and programs that read their program from stdin, when named literally. */
  allowExec: boolean;
  /** Files the commands this rule admits may write (redirections, write options). */
  writePaths: Glob[];
  /** Constructs outside the parsed subset this rule sends unchecked (`*` for any). */
  allowSyntax: ReadonlySet<string>;
}

export interface CompiledPolicy {
  allow: CompiledRule[];
  deny: CompiledRule[];
  denySubstrings: Glob[];
}

/** What the legacy `allow_substitution: true` stands for. */
export const SUBSTITUTION_CONSTRUCTS = ['command_substitution', 'process_substitution', 'heredoc', 'herestring'];

export function compilePolicy(policy: PolicyFile): CompiledPolicy {
  return runToEnd(compiling(policy));
}

/**
 * The same compilation, giving the event loop back every few milliseconds: a policy at the
 * size limits (POLICY_LIMITS) compiles in tens of milliseconds, too long to hold other requests.
 */
export function compilePolicyInSlices(policy: PolicyFile): Promise<CompiledPolicy> {
  return runInSlices(compiling(policy));
}

/** Globs are immutable: one per (pattern, options) serves every rule that repeats it (`*`, `web-*`). */
type GlobCache = Map<string, Glob>;

/** Compiles the policy, yielding after every glob (rules may be large; see runInSlices). */
function* compiling(policy: PolicyFile): Generator<void, CompiledPolicy, undefined> {
  const compiled: CompiledPolicy = { allow: [], deny: [], denySubstrings: [] };
  const cache: GlobCache = new Map();
  for (const [index, rule] of policy.rules.entries()) {
    const compiledRule = yield* compileRule(rule, index, cache);
    (rule.action === 'allow' ? compiled.allow : compiled.deny).push(compiledRule);
  }
  for (const pattern of policy.limits.deny_substrings) {
    compiled.denySubstrings.push(compileDenySubstring(pattern));
    yield;
  }
  return compiled;
}

/** The name a decision reports for a rule: its `name`, else its `id`, else `rules[<index>]`. */
export function ruleName(rule: RuleConfig, index: number): string {
  return rule.name ?? rule.id ?? `rules[${index}]`;
}

function* globs(
  patterns: readonly string[],
  options: { anchored: boolean; caseInsensitive: boolean },
  cache: GlobCache,
): Generator<void, Glob[], undefined> {
  const out: Glob[] = [];
  for (const pattern of patterns) {
    const key = `${options.anchored ? 'a' : 'u'}${options.caseInsensitive ? 'i' : 's'}${pattern}`;
    let glob = cache.get(key);
    if (glob === undefined) {
      glob = compileGlob(pattern, options);
      cache.set(key, glob);
    }
    out.push(glob);
    yield;
  }
  return out;
}

function* compileRule(rule: RuleConfig, index: number, cache: GlobCache): Generator<void, CompiledRule, undefined> {
  const denies = rule.action === 'deny';
  const syntax = new Set<string>(rule.allow_syntax);
  if (rule.allow_substitution) for (const c of SUBSTITUTION_CONSTRUCTS) syntax.add(c);
  const exact = { anchored: true, caseInsensitive: false };
  return {
    name: ruleName(rule, index),
    aliases: yield* globs(rule.aliases, exact, cache),
    tags: yield* globs(rule.tags, exact, cache),
    // Deny patterns fold case: a false deny is cheap, a false allow is not.
    commands: yield* globs(rule.commands, { anchored: true, caseInsensitive: denies }, cache),
    // Only deny rules are matched anywhere in a text (decide.ts): allow rules skip the copies.
    commandsAnywhere: denies ? yield* globs(rule.commands, { anchored: false, caseInsensitive: true }, cache) : [],
    allowExec: rule.allow_exec || rule.allow_substitution,
    writePaths: yield* globs(rule.write_paths, exact, cache),
    allowSyntax: syntax,
  };
}

export function appliesTo(rule: CompiledRule, target: PolicyTarget): boolean {
  const aliasOk = rule.aliases.some((g) => g.matches(target.alias));
  const tagsOk = rule.tags.length === 0 || target.tags.some((tag) => rule.tags.some((g) => g.matches(tag)));
  return aliasOk && tagsOk;
}
