/**
 * Version 2 rules, the Python server's argv forms: `simple_binaries` (a program with any
 * arguments, at most `simple_max_args`) and `binary` + `arg_prefix` + `allow_extra_args` +
 * `path_args` (one program, its leading arguments exactly, and paths at argv positions).
 *
 * They match one command's argv as the checked tree has it, never the text, so a quote, an
 * escape or a wrapper cannot change what they see. They fail closed on what the remote shell
 * computes: an argument compared with a prefix or a path pattern must be known exactly, and
 * one that may expand to several words defeats a count (simple_max_args, allow_extra_args:
 * false). Paths match with `..` resolved as well as written, as write_paths do.
 */
import type { RuleConfig } from '../config/schema.js';
import { compileGlob, type Glob } from './glob.js';
import { hasDotDot, resolveDotDot } from './paths.js';
import type { Arg } from './programs/types.js';

export interface ArgvRule {
  /** Programs this rule names: simple_binaries and binary. */
  programs: ReadonlySet<string>;
  simple?: { names: ReadonlySet<string>; maxArgs?: number };
  structured?: {
    binary: string;
    prefix: readonly string[];
    extraArgs: boolean;
    pathIndices: readonly number[];
    pathPatterns: Glob[];
  };
}

export function compileArgvRule(rule: RuleConfig): ArgvRule | undefined {
  if (rule.simple_binaries === undefined && rule.binary === undefined) return undefined;
  const programs = new Set<string>([
    ...(rule.simple_binaries ?? []),
    ...(rule.binary !== undefined ? [rule.binary] : []),
  ]);
  return {
    programs,
    ...(rule.simple_binaries !== undefined
      ? {
          simple: {
            names: new Set(rule.simple_binaries),
            ...(rule.simple_max_args !== undefined ? { maxArgs: rule.simple_max_args } : {}),
          },
        }
      : {}),
    ...(rule.binary !== undefined
      ? {
          structured: {
            binary: rule.binary,
            prefix: rule.arg_prefix ?? [],
            extraArgs: rule.allow_extra_args ?? true,
            pathIndices: rule.path_args?.indices ?? [],
            pathPatterns: (rule.path_args?.patterns ?? []).map((p) =>
              compileGlob(p, { anchored: true, caseInsensitive: false }),
            ),
          },
        }
      : {}),
  };
}

/** Whether the argv forms of `rule` match `argv` (argv[0] the program as written). */
export function matchesArgv(rule: ArgvRule, argv: readonly Arg[]): boolean {
  const program = argv[0];
  if (program === undefined || !program.exact) return false;
  const splits = argv.some((a) => a.splits);
  const { simple, structured } = rule;
  if (simple && simple.names.has(program.value)) {
    const countOk = simple.maxArgs === undefined || (!splits && argv.length - 1 <= simple.maxArgs);
    if (countOk) return true;
  }
  if (structured && structured.binary === program.value && matchesStructured(structured, argv, splits)) return true;
  return false;
}

function matchesStructured(s: NonNullable<ArgvRule['structured']>, argv: readonly Arg[], splits: boolean): boolean {
  for (const [i, word] of s.prefix.entries()) {
    const arg = argv[i + 1];
    if (arg === undefined || !arg.exact || arg.value !== word) return false;
  }
  if (!s.extraArgs) {
    // Exactly the prefix and the path positions: `tail -n 200 <path>` is argv of 4.
    const expected = Math.max(1 + s.prefix.length, ...s.pathIndices.map((i) => i + 1));
    if (splits || argv.length !== expected) return false;
  }
  for (const index of s.pathIndices) {
    const arg = argv[index];
    if (arg === undefined || !arg.exact) return false;
    const forms = hasDotDot(arg.value) ? [arg.value, resolveDotDot(arg.value)] : [arg.value];
    if (!s.pathPatterns.some((g) => forms.every((f) => g.matches(f)))) return false;
  }
  return true;
}
