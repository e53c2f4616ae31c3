/**
 * procps watch runs its words joined by blanks through `sh -c` every few seconds; with `-x`
 * it runs them as an argv instead.
 */
import { opaque, runs, runsScript } from './args.js';
import { has, options, parse } from './getopt.js';
import type { ProgramAnalyser } from './types.js';

const WATCH = options(
  '--interval,-n= --differences,-d=? --chgexit,-g --exec,-x --no-title,-t --errexit,-e --color,-c ' +
    '--no-color,-C --beep,-b --precise,-p --no-wrap,-w --equexit,-q= --no-rerun,-r --help,-h --version,-v',
);

export const watch: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, WATCH, { abbreviate: true });
  if (parsed.problem !== undefined) return [opaque(`watch: ${parsed.problem}`)];
  if (has(parsed, '--help', '--version') || parsed.rest >= argv.length) return [];
  if (has(parsed, '--exec')) return runs('watch -x', argv.slice(parsed.rest));
  return [runsScript('watch runs its words through sh -c', parsed.rest, argv.length)];
};
