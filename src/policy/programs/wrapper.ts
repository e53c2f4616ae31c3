/**
 * The shape shared by programs that run another program given as their remaining words
 * (`nice -n 5 CMD…`, `timeout 5 CMD…`): options in getopt style that stop at the first
 * operand, optionally a fixed number of positional words, then the command. Options the table
 * does not know are refused, since one that takes a value would move the command.
 */
import { opaque, runs } from './args.js';
import { options, parse } from './getopt.js';
import type { Parsed } from './getopt.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

export interface WrapperSpec {
  /** Option notation (see getopt.ts). `--help`/`--version` are added. */
  options: string;
  /** Positional words between the options and the command (`timeout DURATION CMD`). */
  positionals?: number;
  /** Checks a positional word; a string is a problem to report as opaque (`chrt` priority). */
  positional?: (arg: Arg, index: number) => string | undefined;
  /** Options after which there is no command to run (`ionice -p PID`, `taskset -p`). */
  noCommandWith?: readonly string[];
  /** Effects of the options themselves (`time -o FILE`); return undefined for none. */
  effects?: (parsed: Parsed, argv: readonly Arg[]) => Effect[] | undefined;
  /** Effects when no command is given (default: none — the program only prints). */
  withoutCommand?: Effect[];
  /** Long options may be abbreviated (GNU tools; default true). */
  abbreviate?: boolean;
}

const INFORMATIONAL = ['--help', '--version'];

export function wrapper(program: string, spec: WrapperSpec): ProgramAnalyser {
  const table = options(`${spec.options} --help --version`);
  return (argv) => {
    const parsed = parse(argv, table, { abbreviate: spec.abbreviate ?? true });
    if (parsed.problem !== undefined) return [opaque(`${program}: ${parsed.problem}`)];
    if (parsed.options.some((o) => INFORMATIONAL.includes(o.name))) return [];
    const own = spec.effects?.(parsed, argv) ?? [];
    if (parsed.options.some((o) => spec.noCommandWith?.includes(o.name) === true)) return own;
    const start = parsed.rest + (spec.positionals ?? 0);
    for (let i = parsed.rest; i < start && i < argv.length; i++) {
      const problem = spec.positional?.(argv[i] as Arg, i);
      if (problem !== undefined) return [opaque(`${program}: ${problem}`)];
    }
    if (start >= argv.length) return [...own, ...(spec.withoutCommand ?? [])];
    return [...own, ...runs(program, argv.slice(start))];
  };
}
