/**
 * `env [OPTIONS] [-] [NAME=VALUE…] [CMD…]`: the assignments become the inner command's
 * `assigns`, so the engine judges them like `NAME=VALUE cmd`. `-S` splits a string into words
 * itself, which the policy does not imitate.
 */
import { mayShift, opaque, runs } from './args.js';
import { has, options, parse } from './getopt.js';
import type { Arg, ProgramAnalyser } from './types.js';

const ENV = options(
  '--ignore-environment,-i --null,-0 --unset,-u= --chdir,-C= --split-string,-S= --debug,-v ' +
    '--block-signal=? --default-signal=? --ignore-signal=? --list-signal-handling --argv0,-a= --help --version',
);
/** A word whose literal start is `NAME=`, so it stays an assignment whatever follows. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

export const env: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, ENV, { abbreviate: true });
  if (parsed.problem !== undefined) return [opaque(`env: ${parsed.problem}`)];
  if (has(parsed, '--split-string')) return [opaque('env -S splits a string into a command')];
  if (has(parsed, '--help', '--version')) return [];
  let i = parsed.rest;
  if (argv[i]?.exact === true && argv[i]?.value === '-' && parsed.dashdash < 0) i++;
  const assigns: Arg[] = [];
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.exact ? !arg.value.includes('=') : !ASSIGNMENT.test(arg.value) && !mayShift(arg)) break;
    // GNU env takes any word with `=` as an assignment; a word that may expand to one, or
    // split into several, leaves the command unknown.
    if (arg.splits || (!arg.exact && !ASSIGNMENT.test(arg.value)))
      return [opaque(`env: ${arg.value} may be an assignment or the command`)];
    assigns.push(arg);
  }
  return runs('env', argv.slice(i), { assigns });
};
