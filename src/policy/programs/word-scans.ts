/**
 * Programs whose option syntax does not fit getopt (single-dash long options, `+commands`,
 * multi-letter short options): every word is examined on its own, erring towards an effect.
 * vim, gdb, nmap, openssl, zip, less, more, crontab, at/batch, start-stop-daemon.
 */
import { exec, mayShift, opaque, stdinProgram, write } from './args.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

/** An option word's name without its dashes and `=value`: `--ex=x` → `ex`. */
function optionName(word: string): string {
  const bare = word.replace(/^--?/, '');
  const eq = bare.indexOf('=');
  return eq < 0 ? bare : bare.slice(0, eq);
}

/** The first problem word: one that may become an option, or an option not known exactly. */
function unknownWord(argv: readonly Arg[]): Arg | undefined {
  return argv.find((a, i) => i > 0 && (mayShift(a) || (!a.exact && /^[-+]/.test(a.value))));
}

const isInformational = (argv: readonly Arg[]): boolean =>
  argv.length === 2 && ['--version', '--help', '-h', '-v', '-V'].includes(argv[1]!.value);

/**
 * vim and its names: `-c`, `--cmd`, `+CMD`, `-S`, `-s`, `-u`, `-U` run commands; without a
 * terminal vim reads its keystrokes (and so `:!cmd`) from stdin, and it edits files.
 */
const vim: ProgramAnalyser = (argv) => {
  if (isInformational(argv)) return [];
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`vim: ${odd.value} is not known exactly`)];
  const effects: Effect[] = [];
  for (const arg of argv.slice(1)) {
    const w = arg.value;
    if (/^\+(?:[0-9]*|\/.*)$/.test(w)) continue; // +N, +/pattern: cursor position
    if (w.startsWith('+')) effects.push(exec('vim +command'));
    else if (w === '--cmd' || /^-[A-Za-z]*[cSsuU]/.test(w) || w.startsWith('--startuptime'))
      effects.push(exec(`vim ${w}`));
    else if (/^-[A-Za-z]*W/.test(w) || /^-[A-Za-z]*w/.test(w)) effects.push(write(`vim ${w}`));
  }
  return [...effects, stdinProgram('vim reads editor commands from stdin'), write('vim edits files')];
};

const GDB_EXEC = [
  'ex',
  'x',
  'iex',
  'ix',
  'eval-command',
  'command',
  'init-command',
  'init-eval-command',
  'batch',
  'batch-silent',
];

/** gdb runs commands from options and files; without them it reads commands from stdin. */
const gdb: ProgramAnalyser = (argv) => {
  if (isInformational(argv)) return [];
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`gdb: ${odd.value} is not known exactly`)];
  const found = argv.slice(1).filter((a) => {
    if (!a.value.startsWith('-')) return false;
    const name = optionName(a.value);
    return GDB_EXEC.includes(name) || (name.length >= 3 && GDB_EXEC.some((o) => o.length > 2 && o.startsWith(name)));
  });
  if (found.length > 0) return found.map((a) => exec(`gdb ${a.value}`));
  return [stdinProgram('gdb reads commands from stdin')];
};

/** nmap: NSE scripts and data directories run code; `-oN/-oX/-oG/-oS/-oA FILE` write. */
const nmap: ProgramAnalyser = (argv) => {
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`nmap: ${odd.value} is not known exactly`)];
  const effects: Effect[] = [];
  argv.forEach((arg, i) => {
    if (i === 0 || !arg.value.startsWith('-')) return;
    const name = optionName(arg.value);
    if (name.startsWith('script') || (name.length >= 3 && 'script'.startsWith(name)))
      effects.push(exec(`nmap ${arg.value}`));
    else if (/^(?:datadir|servicedb|versiondb)/.test(name)) effects.push(exec(`nmap ${arg.value}`));
    else if (/^o[NXSGAM]$/.test(name))
      effects.push(name === 'oA' ? write('nmap -oA') : write(`nmap -${name}`, argv[i + 1]));
    else if (/^o[NXSGAM]./.test(name)) effects.push(write(`nmap ${arg.value}`));
  });
  return effects;
};

const OPENSSL_WRITES = new Set([
  'out',
  'keyout',
  'writerand',
  'sess_out',
  'keylogfile',
  'msgfile',
  'certout',
  'reqout',
  'rspout',
  'respout',
  'chainout',
  'extracerts_out',
  'outdir',
]);
const OPENSSL_EXEC = new Set(['engine', 'provider', 'provider-path', 'config', 'ssl_config']);

/** openssl: `-out FILE` and friends write; engines, providers and config files load code. */
const openssl: ProgramAnalyser = (argv) => {
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`openssl: ${odd.value} is not known exactly`)];
  const effects: Effect[] = [];
  argv.forEach((arg, i) => {
    if (i === 0 || !arg.value.startsWith('-')) return;
    const name = optionName(arg.value);
    if (OPENSSL_WRITES.has(name))
      effects.push(name === 'outdir' ? write('openssl -outdir') : write(`openssl -${name}`, argv[i + 1]));
    if (OPENSSL_EXEC.has(name)) effects.push(exec(`openssl -${name}`));
  });
  if (argv[1]?.value === 'ca') effects.push(write('openssl ca updates its database'));
  if (argv[1]?.value === 'engine') effects.push(exec('openssl engine loads engines'));
  return effects;
};

/** zip writes its archive; `-TT CMD`/`--unzip-command` run a command to test it. */
const zip: ProgramAnalyser = (argv) => {
  if (isInformational(argv)) return [];
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`zip: ${odd.value} is not known exactly`)];
  const effects: Effect[] = [];
  for (const arg of argv.slice(1)) {
    const w = arg.value;
    const long = w.startsWith('--') ? optionName(w) : '';
    if (
      (w.startsWith('-') && !w.startsWith('--') && w.includes('TT')) ||
      (long !== '' && 'unzip-command'.startsWith(long))
    )
      effects.push(exec(`zip ${w}`));
    if (w === '-O' || w.startsWith('--output-file') || w === '--out') effects.push(write(`zip ${w}`));
  }
  // zip's options may take values in ways getopt does not describe: the archive is known only
  // when it is the first word.
  const first = argv[1];
  effects.push(
    first !== undefined && !first.value.startsWith('-') ? write('zip archive', first) : write('zip archive'),
  );
  return effects;
};

/** less: `+cmd` runs a command at start (`+!sh`); `-o/-O FILE` log to a file; lesskey files bind keys. */
const less: ProgramAnalyser = (argv) => {
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`less: ${odd.value} is not known exactly`)];
  const effects: Effect[] = [];
  argv.forEach((arg, i) => {
    const w = arg.value;
    if (i === 0) return;
    if (w.startsWith('+') && !/^\+(?:[0-9]*|\/[^!|]*|[gGF])$/.test(w)) effects.push(exec(`less ${w}`));
    if (/^-[A-Za-z]*[oO]/.test(w) || /^--(?:log-file|LOG-FILE)/i.test(w))
      effects.push(write(`less ${w}`, /^-[A-Za-z]*[oO]$/.test(w) || !w.includes('=') ? argv[i + 1] : undefined));
    if (/^-[A-Za-z]*k/.test(w) || w.startsWith('--lesskey')) effects.push(opaque(`less ${w}`));
  });
  return effects;
};

/** more: `+N` and `+/pattern` only position the text. */
const more: ProgramAnalyser = (argv) => {
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`more: ${odd.value} is not known exactly`)];
  return argv
    .slice(1)
    .filter((a) => a.value.startsWith('+') && !/^\+(?:[0-9]*|\/.*)$/.test(a.value))
    .map((a) => opaque(`more ${a.value}`));
};

/** crontab installs a table of commands run later, from a file or stdin; `-e` runs an editor. */
const crontab: ProgramAnalyser = (argv) => {
  const odd = unknownWord(argv);
  if (odd !== undefined) return [opaque(`crontab: ${odd.value} is not known exactly`)];
  const flags = argv.slice(1).filter((a) => a.value.startsWith('-') && a.value !== '-');
  const letters = flags.map((a) => a.value).join('');
  if (/e/.test(letters)) return [exec('crontab -e runs an editor')];
  if (/r/.test(letters)) return [write('crontab -r removes the table')];
  if (/[lTV]/.test(letters) || letters.includes('-help') || letters.includes('-version')) return [];
  return [exec('crontab installs commands to run later')];
};

/** at and batch read the commands to run later from stdin (or `-f FILE`). */
const at: ProgramAnalyser = (argv) => {
  const words = argv.slice(1).map((a) => a.value);
  if (words.some((w) => /^-[A-Za-z]*f/.test(w))) return [exec('at -f runs a file of commands later')];
  if (words.some((w) => /^-[A-Za-z]*[lrdcV]/.test(w))) return [];
  return [stdinProgram('at reads commands from stdin')];
};

/** start-stop-daemon starts a program given by path, with options the policy does not follow. */
const startStopDaemon: ProgramAnalyser = (argv) => {
  const words = argv.slice(1).map((a) => a.value);
  const stopping = words.some((w) => /^(?:-[A-Za-z]*[KTV]|--stop|--status|--help|--version)$/.test(w));
  const starting = words.some((w) => /^(?:-[A-Za-z]*S|--start)$/.test(w));
  return stopping && !starting ? [] : [exec('start-stop-daemon starts a program')];
};

export const WORD_SCANS: Record<string, ProgramAnalyser> = {
  ...Object.fromEntries(
    ['vi', 'vim', 'nvim', 'view', 'ex', 'rvim', 'rview', 'vimdiff', 'gvim', 'evim'].map((n) => [n, vim]),
  ),
  gdb,
  nmap,
  openssl,
  zip,
  less,
  more,
  crontab,
  at,
  batch: at,
  'start-stop-daemon': startStopDaemon,
};
