/**
 * util-linux flock: `flock [OPTS] FILE CMD…` runs CMD, `flock [OPTS] FILE -c STR` runs STR
 * through a shell, `flock [OPTS] FD` only takes a lock for the calling script.
 */
import { opaque, runs, runsScript } from './args.js';
import { options, parse } from './getopt.js';
import type { ProgramAnalyser } from './types.js';

const FLOCK = options(
  '--shared,-s --exclusive,-x,-e --unlock,-u --nonblock,--nb,-n --wait,--timeout,-w= --close,-o ' +
    '--conflict-exit-code,-E= --no-fork,-F --verbose --help,-h --version,-V',
);

export const flock: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, FLOCK, { abbreviate: true });
  if (parsed.problem !== undefined) return [opaque(`flock: ${parsed.problem}`)];
  const command = parsed.rest + 1;
  const word = argv[command];
  if (word === undefined) return [];
  if (!word.exact && word.value.startsWith('-')) return [opaque('flock: word after the lock file is not known')];
  if (word.value === '-c' || word.value === '--command') {
    return command + 1 < argv.length ? [runsScript('flock -c', command + 1, command + 2)] : [];
  }
  return runs('flock', argv.slice(command));
};
