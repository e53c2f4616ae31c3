/**
 * Small helpers shared by the program tables: effect constructors, argument tests and the
 * program name lookup. Kept apart so every table reads the same way.
 */
import type { Arg, Effect } from './types.js';

/** The file name of a program word: `/usr/bin/find` → `find`. */
export function baseName(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1);
}

/** The part of `arg` from `start` on, as an attached option value (`-uroot` → `root`). */
export function tail(arg: Arg, start: number): Arg {
  return { value: arg.value.slice(start), exact: arg.exact, splits: arg.splits, mayBeOption: false };
}

/** A literal argument, for values a table builds itself (`echo` run by a bare `xargs`). */
export function literal(value: string): Arg {
  return { value, exact: true, splits: false, mayBeOption: false };
}

/** The word may turn into other words or into an option once the shell expands it. */
export function mayShift(arg: Arg): boolean {
  return arg.splits || arg.mayBeOption;
}

export const exec = (feature: string): Effect => ({ kind: 'exec', feature });
export const opaque = (feature: string): Effect => ({ kind: 'opaque', feature });
export const stdinProgram = (feature: string): Effect => ({ kind: 'stdin_program', feature });
export const runsScript = (feature: string, from: number, to: number): Effect => ({
  kind: 'runs_script',
  feature,
  from,
  to,
});

/** A write; the path only when the word naming it is known exactly (else undefined: unknown). */
export function write(feature: string, path?: Arg): Effect {
  return { kind: 'write', feature, path: path !== undefined && path.exact ? path : undefined };
}

/** Runs `argv` as a command; an empty argv runs nothing. */
export function runs(
  feature: string,
  argv: readonly Arg[],
  extra?: { assigns?: Arg[]; extraArgs?: boolean },
): Effect[] {
  if (argv.length === 0) return [];
  const effect: Effect = { kind: 'runs', feature, argv: [...argv] };
  if (extra?.assigns !== undefined && extra.assigns.length > 0) effect.assigns = extra.assigns;
  if (extra?.extraArgs === true) effect.extraArgs = true;
  return [effect];
}

/** Word values, for messages and comparisons. */
export function values(argv: readonly Arg[]): string[] {
  return argv.map((a) => a.value);
}
