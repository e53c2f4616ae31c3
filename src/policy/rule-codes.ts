/**
 * What a decision can name as its reason besides an operator's rule: one union, used by the
 * decision, the event model and the config check, so a user rule can never be called
 * `default_deny` and a SIEM can list every code the policy emits.
 */
import type { UnsupportedConstruct } from './shell/ast.js';

export const BUILTIN_RULE_CODES = [
  /** No allow rule admits a command (or a program a wrapper runs). */
  'default_deny',
  /** `limits.deny_substrings` matched. */
  'deny_substrings',
  /** Text no shell accepts (an unclosed quote, a dangling `&&`). */
  'parse_error',
  'empty_command',
  /** A program reads the program it runs from stdin (`… | sh`, `python3 -`, `xargs sh`). */
  'shell_from_stdin',
  /** An option or script feature that runs commands the policy cannot see (`sed e`, `tar --to-command`). */
  'exec_option',
  /** An argument whose value the policy cannot know decides what the program does. */
  'unknown_argument',
  /** The program's name is computed (`$CMD`, `*`, `~/bin/x`) or a wrapper's program is. */
  'unknown_program',
  /** A redirection or write option whose path no rule's `write_paths` allows. */
  'write_denied',
  /** Commands inside commands nested deeper than the policy follows. */
  'nesting_too_deep',
  /** Version 2: a program given by path (`/tmp/x`, `./run.sh`) that no rule names by that path. */
  'program_path',
] as const;

export type BuiltinRuleCode = (typeof BUILTIN_RULE_CODES)[number] | `unsupported_syntax:${UnsupportedConstruct}`;

/** Whether `name` is one of the built-in codes (which no operator rule may be called). */
export function isBuiltinRuleCode(name: string): boolean {
  return (BUILTIN_RULE_CODES as readonly string[]).includes(name) || name.startsWith('unsupported_syntax:');
}

/** What determined a decision: an operator's rule by name, or a built-in code. */
export type RuleRef = { kind: 'rule'; name: string } | { kind: 'builtin'; code: BuiltinRuleCode };
