/**
 * policy.yml rules compiled for matching: which hosts a rule applies to, its command globs,
 * and what it lets the commands it admits do beyond running (`write_paths`, `allow_exec`,
 * `allow_syntax`).
 */
import type { LimitOverride, PolicyFile, RuleConfig } from '../config/schema.js';
import { runInSlices, runToEnd } from '../config/slices.js';
import { compileArgvRule, type ArgvRule } from './argv-rules.js';
import { compileDenySubstring, compileGlob, type Glob } from './glob.js';

export interface PolicyTarget {
  alias: string;
  tags: readonly string[];
}

export interface CompiledRule {
  name: string;
  action: 'allow' | 'deny';
  /** Version 2 argv forms (simple_binaries, binary …), when the rule has any. */
  argv?: ArgvRule;
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
  /** 2: rules decide in file order, the first that matches each command (the Python server's version 2). */
  version: 1 | 2;
  /** Every rule in file order (version 2 reads them so). */
  rules: CompiledRule[];
  allow: CompiledRule[];
  deny: CompiledRule[];
  /** `limits.deny_substrings` (or the built-in list when it is absent). */
  denySubstrings: Glob[];
  /** `overrides.aliases.<alias>.deny_substrings` and `overrides.tags.<tag>.deny_substrings`: they replace the list. */
  denyByAlias: ReadonlyMap<string, Glob[]>;
  denyByTag: ReadonlyMap<string, Glob[]>;
  /** `limits.overrides` (the version 2 layout): entries applying by alias and tag globs, in order. */
  listedOverrides: CompiledListedOverride[];
}

export interface CompiledListedOverride {
  aliases: Glob[];
  tags: Glob[];
  limits: LimitOverride;
  deny?: Glob[];
}

/** A listed override applies to a host whose alias matches, and one of whose tags does (no tags: any host). */
export function listedOverrideApplies(listed: CompiledListedOverride, target: PolicyTarget): boolean {
  return (
    listed.aliases.some((g) => g.matches(target.alias)) &&
    (listed.tags.length === 0 || target.tags.some((t) => listed.tags.some((g) => g.matches(t))))
  );
}

/**
 * The deny list in force for a host, as the Python server merges limits: an alias override's
 * list, else the last of the host's tags with one, else `limits.deny_substrings`.
 */
export function denySubstringsFor(policy: CompiledPolicy, target: PolicyTarget): Glob[] {
  const byAlias = policy.denyByAlias.get(target.alias);
  if (byAlias) return byAlias;
  for (let i = target.tags.length - 1; i >= 0; i--) {
    const byTag = policy.denyByTag.get(target.tags[i]!);
    if (byTag) return byTag;
  }
  for (let i = policy.listedOverrides.length - 1; i >= 0; i--) {
    const listed = policy.listedOverrides[i]!;
    if (listed.deny && listedOverrideApplies(listed, target)) return listed.deny;
  }
  return policy.denySubstrings;
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
  const denyByAlias = new Map<string, Glob[]>();
  const denyByTag = new Map<string, Glob[]>();
  const compiled: CompiledPolicy = {
    version: policy.version,
    rules: [],
    allow: [],
    deny: [],
    denySubstrings: [],
    denyByAlias,
    denyByTag,
    listedOverrides: [],
  };
  const cache: GlobCache = new Map();
  for (const [index, rule] of policy.rules.entries()) {
    const compiledRule = yield* compileRule(rule, index, cache);
    compiled.rules.push(compiledRule);
    (rule.action === 'allow' ? compiled.allow : compiled.deny).push(compiledRule);
  }
  compiled.denySubstrings = yield* denyList(policy.limits.deny_substrings);
  const exact = { anchored: true, caseInsensitive: false };
  for (const { aliases, tags, deny_substrings, ...limits } of policy.limits.overrides ?? []) {
    compiled.listedOverrides.push({
      aliases: yield* globs(aliases, exact, cache),
      tags: yield* globs(tags, exact, cache),
      limits,
      ...(deny_substrings ? { deny: yield* denyList(deny_substrings) } : {}),
    });
  }
  for (const [overrides, into] of [
    [policy.overrides.aliases, denyByAlias],
    [policy.overrides.tags, denyByTag],
  ] as const) {
    // Own entries only (a tag called `constructor`); Object.entries gives nothing else.
    for (const [name, override] of Object.entries(overrides)) {
      if (override.deny_substrings) into.set(name, yield* denyList(override.deny_substrings));
    }
  }
  return compiled;
}

function* denyList(patterns: readonly string[]): Generator<void, Glob[], undefined> {
  const out: Glob[] = [];
  for (const pattern of patterns) {
    out.push(compileDenySubstring(pattern));
    yield;
  }
  return out;
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
  const argv = compileArgvRule(rule);
  return {
    name: ruleName(rule, index),
    action: rule.action,
    ...(argv ? { argv } : {}),
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
