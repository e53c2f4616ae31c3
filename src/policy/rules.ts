/**
 * policy.yml rules compiled for matching: which hosts a rule applies to, its command globs,
 * and what it lets the commands it admits do beyond running (`write_paths`, `allow_exec`,
 * `allow_syntax`).
 */
import type { PolicyFile, RuleConfig } from '../config/schema.js';
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
  /** The command globs matched anywhere in a text (deny rules against unchecked text). */
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
  const compiled: CompiledPolicy = { allow: [], deny: [], denySubstrings: [] };
  policy.rules.forEach((rule, index) => {
    (rule.action === 'allow' ? compiled.allow : compiled.deny).push(compileRule(rule, index));
  });
  compiled.denySubstrings = policy.limits.deny_substrings.map(compileDenySubstring);
  return compiled;
}

/** The name a decision reports for a rule: its `name`, else its `id`, else `rules[<index>]`. */
export function ruleName(rule: RuleConfig, index: number): string {
  return rule.name ?? rule.id ?? `rules[${index}]`;
}

function compileRule(rule: RuleConfig, index: number): CompiledRule {
  const denies = rule.action === 'deny';
  const syntax = new Set<string>(rule.allow_syntax);
  if (rule.allow_substitution) for (const c of SUBSTITUTION_CONSTRUCTS) syntax.add(c);
  return {
    name: ruleName(rule, index),
    aliases: rule.aliases.map((p) => compileGlob(p, { anchored: true, caseInsensitive: false })),
    tags: rule.tags.map((p) => compileGlob(p, { anchored: true, caseInsensitive: false })),
    // Deny patterns fold case: a false deny is cheap, a false allow is not.
    commands: rule.commands.map((p) => compileGlob(p, { anchored: true, caseInsensitive: denies })),
    commandsAnywhere: rule.commands.map((p) => compileGlob(p, { anchored: false, caseInsensitive: true })),
    allowExec: rule.allow_exec || rule.allow_substitution,
    writePaths: rule.write_paths.map((p) => compileGlob(p, { anchored: true, caseInsensitive: false })),
    allowSyntax: syntax,
  };
}

export function appliesTo(rule: CompiledRule, target: PolicyTarget): boolean {
  const aliasOk = rule.aliases.some((g) => g.matches(target.alias));
  const tagsOk = rule.tags.length === 0 || target.tags.some((tag) => rule.tags.some((g) => g.matches(tag)));
  return aliasOk && tagsOk;
}
