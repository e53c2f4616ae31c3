/**
 * The program table: `effectsOf(argv)` says what one simple command does beyond running its
 * own program (see types.ts). Programs are found by the file name of argv[0]; versioned
 * interpreter and shell names (`python3.11`, `perl5.36`) by that name without its version.
 * Programs not in the table do nothing more than run (`[]`).
 */
import { baseName, opaque, write } from './args.js';
import { awk } from './awk.js';
import { BUILTINS } from './builtins.js';
import { CODE_RUNNERS } from './code-runners.js';
import { CONTAINERS } from './containers.js';
import { env } from './env.js';
import { ESCAPE_TABLE } from './escapes.js';
import { find } from './find.js';
import { flock } from './flock.js';
import { git } from './git.js';
import { IN_PLACE } from './in-place.js';
import { INTERPRETERS } from './interpreters.js';
import { ip } from './ip.js';
import { OPTION_TABLE } from './options-table.js';
import { PRIVILEGE } from './privilege.js';
import { REMOTE } from './remote.js';
import { sed } from './sed.js';
import { SHELLS } from './shells.js';
import { tar } from './tar.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';
import { watch } from './watch.js';
import { WORD_SCANS } from './word-scans.js';
import { WRAPPERS } from './wrappers.js';
import { xargs } from './xargs.js';

export type { Arg, Effect, ProgramAnalyser } from './types.js';

/** `busybox APPLET ARGS…` is APPLET (script word indices shifted back); `busybox` alone lists applets. */
const busybox: ProgramAnalyser = (argv) => {
  const applet = argv[1];
  if (applet === undefined) return [];
  if (!applet.exact) return [opaque('busybox applet not known exactly')];
  if (applet.value.startsWith('-'))
    return applet.value === '--install' ? [write('busybox --install links applets')] : [];
  return effectsOf(argv.slice(1)).map((e) => (e.kind === 'runs_script' ? { ...e, from: e.from + 1, to: e.to + 1 } : e));
};

const TABLE: ReadonlyMap<string, ProgramAnalyser> = new Map(
  Object.entries({
    ...ESCAPE_TABLE,
    ...CODE_RUNNERS,
    ...IN_PLACE,
    ...WRAPPERS,
    ...PRIVILEGE,
    ...SHELLS,
    ...BUILTINS,
    ...INTERPRETERS,
    ...REMOTE,
    ...CONTAINERS,
    ...OPTION_TABLE,
    ...WORD_SCANS,
    ...Object.fromEntries(['awk', 'gawk', 'mawk', 'nawk'].map((n) => [n, awk])),
    env,
    flock,
    ip,
    xargs,
    watch,
    find,
    sed,
    tar,
    git,
    busybox,
  }),
);

/** Names looked up without a trailing version: `python3.11` → `python`, `lua5.4` → `lua`. */
const VERSIONED = new Set([
  'python',
  'pypy',
  'perl',
  'ruby',
  'php',
  'lua',
  'luajit',
  'tclsh',
  'wish',
  'bash',
  'ksh',
  'zsh',
]);

/** The analyser for a program word, or undefined when the program is not in the table. */
export function analyserFor(program: string): ProgramAnalyser | undefined {
  const name = baseName(program);
  const found = TABLE.get(name);
  if (found !== undefined) return found;
  const unversioned = name.replace(/[0-9][0-9.]*$/, '');
  return unversioned !== name && VERSIONED.has(unversioned) ? TABLE.get(unversioned) : undefined;
}

/** What the invocation `argv` does beyond running its own program. */
export function effectsOf(argv: readonly Arg[]): Effect[] {
  const program = argv[0];
  if (program === undefined) return [];
  if (!program.exact) return [opaque('program name not known exactly')];
  return analyserFor(program.value)?.(argv) ?? [];
}
