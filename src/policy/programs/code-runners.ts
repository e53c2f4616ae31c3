/**
 * Programs that run code by design, from files, packages or their own arguments (build tools,
 * package managers, database clients, compilers, editors), and options that load a library.
 * GTFOBins lists most of them under shell, command and library load; the subcommands are from
 * the programs' manuals. What runs is not visible to the policy: `exec`, so a rule has to name
 * the program literally with `allow_exec: true` to admit it. Read-only subcommands stay plain.
 */
import { exec, opaque, stdinProgram, write } from './args.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

const INFORMATIONAL = new Set(['--version', '-V', '--help', '-h', 'version', 'help']);

/** The first word that is not an option (a subcommand), or undefined. */
function firstOperand(argv: readonly Arg[]): Arg | undefined {
  return argv.slice(1).find((a) => !a.value.startsWith('-'));
}

const onlyInformational = (argv: readonly Arg[]): boolean => argv.length === 2 && INFORMATIONAL.has(argv[1]!.value);

/** Runs code from the project or files it is pointed at, whatever the arguments. */
const alwaysRuns =
  (what: string): ProgramAnalyser =>
  (argv) =>
    argv.length === 1 || !onlyInformational(argv) ? [exec(what)] : [];

/**
 * Runs code unless its subcommand is one of `plain` (read-only ones). A subcommand the policy
 * cannot know exactly is taken to run code.
 */
const unlessSubcommand =
  (what: string, plain: ReadonlySet<string>, bare: 'plain' | 'runs' = 'plain'): ProgramAnalyser =>
  (argv) => {
    const sub = firstOperand(argv);
    if (sub === undefined) return bare === 'runs' && !onlyInformational(argv) ? [exec(`${what} (no subcommand)`)] : [];
    if (!sub.exact) return [opaque(`${what}: subcommand ${sub.value} not known exactly`)];
    return plain.has(sub.value) ? [] : [exec(`${what} ${sub.value}`)];
  };

/** Runs code when its subcommand is one of `running`; `writing` ones change files. */
const whenSubcommand =
  (
    what: string,
    running: ReadonlySet<string>,
    writing: ReadonlySet<string> = new Set(),
    hooks = false,
  ): ProgramAnalyser =>
  (argv) => {
    const effects: Effect[] = [];
    // APT: -o / -c set options and config files, and options name hooks (Pre-Invoke…).
    if (hooks)
      for (const arg of argv.slice(1))
        if (/^(?:-o|-c|--option|--config-file)(?:=|$)/.test(arg.value) || /^-[oc]./.test(arg.value))
          effects.push(exec(`${what} ${arg.value.slice(0, 2)} sets options (hooks run commands)`));
    const sub = firstOperand(argv);
    if (sub === undefined) return effects;
    if (!sub.exact) return [...effects, opaque(`${what}: subcommand ${sub.value} not known exactly`)];
    if (running.has(sub.value)) effects.push(exec(`${what} ${sub.value} runs package scripts`));
    else if (writing.has(sub.value)) effects.push(write(`${what} ${sub.value}`));
    return effects;
  };

/** Options (exact words or `--opt=`) that run or load code. */
const withOptions =
  (what: string, options: readonly string[], more?: ProgramAnalyser): ProgramAnalyser =>
  (argv) => {
    const effects: Effect[] = [];
    for (const arg of argv.slice(1)) {
      const hit = options.find(
        (o) =>
          arg.value === o ||
          arg.value.startsWith(`${o}=`) ||
          (o.length === 2 && arg.value.startsWith(o) && !o.startsWith('--')),
      );
      if (hit !== undefined) effects.push(exec(`${what} ${hit}`));
      else if (!arg.exact && arg.mayBeOption) effects.push(opaque(`${what}: ${arg.value} may be any option`));
    }
    return [...effects, ...(more?.(argv) ?? [])];
  };

/** A database client: SQL it is given or reads from stdin can run shell commands (`\!`, `.shell`). */
const sqlClient =
  (what: string, sqlOptions: readonly string[], shellEscape: RegExp): ProgramAnalyser =>
  (argv) => {
    if (onlyInformational(argv)) return [];
    const effects: Effect[] = [];
    let sql = false;
    argv.forEach((arg, i) => {
      if (i === 0) return;
      const option = sqlOptions.find((o) => arg.value === o || arg.value.startsWith(`${o}=`));
      if (option === undefined) return;
      sql = true;
      const value = arg.value.includes('=') ? arg.value.slice(arg.value.indexOf('=') + 1) : argv[i + 1]?.value;
      const known = arg.value.includes('=') ? arg.exact : argv[i + 1]?.exact === true;
      if (!known || value === undefined || shellEscape.test(value))
        effects.push(exec(`${what} ${option} runs shell commands`));
    });
    if (argv.some((a, i) => i > 0 && ['-f', '--file', '-init', '--init-command'].includes(a.value)))
      effects.push(exec(`${what} runs a script file`));
    const lists = argv.some((a, i) => i > 0 && ['-l', '--list', '--help', '--version'].includes(a.value));
    if (!sql && !lists) effects.push(stdinProgram(`${what} reads statements (shell escapes included) from stdin`));
    return effects;
  };

/** sqlite3 DB [SQL…]: words after the database are statements or dot-commands. */
const sqlite: ProgramAnalyser = (argv) => {
  if (onlyInformational(argv)) return [];
  const words = argv.slice(1);
  const operands = words.filter((a) => !a.value.startsWith('-'));
  const effects: Effect[] = [];
  for (const arg of words)
    if (['-cmd', '-init'].includes(arg.value)) effects.push(exec(`sqlite3 ${arg.value} runs commands`));
  const statements = operands.slice(1);
  if (statements.length === 0) effects.push(stdinProgram('sqlite3 reads statements (.shell included) from stdin'));
  for (const s of statements)
    if (
      !s.exact ||
      /^\s*\.(?:shell|system|load|once|output|save|backup|import)\b/m.test(s.value) ||
      /\n\s*\./.test(s.value)
    )
      effects.push(exec(`sqlite3 ${s.exact ? s.value.trim().split(/\s/, 1)[0] : s.value}`));
  return effects;
};

/** Compilers: plugins and wrappers run code; compiling writes a.out or the -o file. */
const compiler =
  (what: string): ProgramAnalyser =>
  (argv) => {
    if (onlyInformational(argv)) return [];
    const effects: Effect[] = [];
    let output: Arg | undefined;
    let writes = true;
    argv.forEach((arg, i) => {
      if (i === 0) return;
      const v = arg.value;
      if (
        v === '-wrapper' ||
        v.startsWith('-fplugin') ||
        v.startsWith('-B') ||
        v.startsWith('-specs') ||
        v === '--specs'
      )
        effects.push(exec(`${what} ${v.split('=')[0]}`));
      if (v === '-o') output = argv[i + 1];
      else if (v.startsWith('-o') && v.length > 2) output = { ...arg, value: v.slice(2) };
      if (
        [
          '-E',
          '-fsyntax-only',
          '-M',
          '-MM',
          '-dumpversion',
          '-dumpmachine',
          '--version',
          '-v',
          '-print-search-dirs',
        ].includes(v)
      )
        writes = false;
    });
    if (writes && argv.length > 1)
      effects.push(output !== undefined ? write(`${what} -o`, output) : write(`${what} output file`));
    return effects;
  };

/** Archive extractors: extracting writes files under the current directory (or -d DIR). */
const unzip: ProgramAnalyser = (argv) => {
  const listing = argv.slice(1).some((a) => /^-[a-zA-Z]*[ltvZpcz]/.test(a.value));
  return listing || argv.length === 1 || onlyInformational(argv) ? [] : [write('unzip extracts files')];
};
const sevenZip: ProgramAnalyser = (argv) => {
  const command = argv[1];
  if (command === undefined || onlyInformational(argv)) return [];
  if (!command.exact) return [opaque(`7z: command ${command.value} not known exactly`)];
  return ['l', 't', 'i', 'h', 'b'].includes(command.value) ? [] : [write(`7z ${command.value} writes files`)];
};
const cpio: ProgramAnalyser = (argv) =>
  argv.some((a) => a.value === '--rsh-command' || a.value.startsWith('--rsh-command='))
    ? [exec('cpio --rsh-command runs a program')]
    : cpioWrites(argv);
const cpioWrites: ProgramAnalyser = (argv) =>
  argv.slice(1).some((a) => /^-[a-zA-Z]*[ip]/.test(a.value) || a.value === '--extract' || a.value === '--pass-through')
    ? [write('cpio extracts files')]
    : [];

const NPM_PLAIN = new Set([
  'ls', 'list', 'll', 'la', 'view', 'v', 'info', 'show', 'outdated', 'ping', 'whoami', 'search', 's', 'find',
  'help', 'config', 'c', 'get', 'root', 'prefix', 'bin', 'why', 'explain', 'audit', 'fund', 'owner', 'docs', 'repo', 'bugs',
]); // prettier-ignore
const PIP_RUNS = new Set(['install', 'download', 'wheel', 'run']);
const PIP_WRITES = new Set(['uninstall', 'cache']);
const APT_RUNS = new Set([
  'install', 'remove', 'purge', 'upgrade', 'full-upgrade', 'dist-upgrade', 'reinstall', 'autoremove', 'autopurge',
  'build-dep', 'safe-upgrade', 'markauto', 'satisfy',
]); // prettier-ignore
const APT_WRITES = new Set(['update', 'source', 'download', 'clean', 'autoclean', 'changelog']);
const PKG_RUNS = new Set([
  'install', 'in', 'add', 'remove', 'rm', 'erase', 'del', 'purge', 'upgrade', 'up', 'update', 'reinstall', 'downgrade',
  'distro-sync', 'dist-upgrade', 'dup', 'autoremove', 'localinstall', 'groupinstall', 'swap', 'fix', 'patch',
]); // prettier-ignore
const ZYPPER_PLAIN = new Set([
  'search', 'se', 'info', 'if', 'list-updates', 'lu', 'repos', 'lr', 'packages', 'pa', 'patches', 'products', 'pd',
  'patterns', 'pt', 'locks', 'll', 'services', 'ls', 'help', 'what-provides', 'wp', 'search-packages',
]); // prettier-ignore
const BUNDLE_PLAIN = new Set([
  'list',
  'info',
  'outdated',
  'show',
  'version',
  'help',
  'config',
  'check',
  'platform',
  'licenses',
]);
const CARGO_PLAIN = new Set([
  'version',
  'help',
  'search',
  'tree',
  'metadata',
  'locate-project',
  'pkgid',
  'verify-project',
  'read-manifest',
  'fmt',
  'login',
  'logout',
  'owner',
  'info',
]);
const GO_PLAIN = new Set(['version', 'help', 'env', 'list', 'doc', 'fmt', 'vet', 'mod', 'work', 'bug', 'telemetry']);

/** dpkg: installing, removing and configuring run maintainer scripts; extracting writes. */
const dpkg: ProgramAnalyser = (argv) => {
  for (const arg of argv.slice(1)) {
    const v = arg.value;
    if (/^-[irP]/.test(v) && !v.startsWith('--')) return [exec(`dpkg ${v} runs maintainer scripts`)];
    if (['--install', '--unpack', '--configure', '--remove', '--purge', '--triggers-only'].includes(v.split('=')[0]!))
      return [exec(`dpkg ${v} runs maintainer scripts`)];
    if (/^-[xX]/.test(v) || v === '--extract' || v === '--vextract') return [write(`dpkg ${v} extracts files`)];
  }
  return [];
};

/** rpm: installing, upgrading and erasing run the package's scriptlets. */
const rpm: ProgramAnalyser = (argv) =>
  argv
    .slice(1)
    .some(
      (a) =>
        (/^-[iUFe]/.test(a.value) && !a.value.startsWith('--')) ||
        ['--install', '--upgrade', '--freshen', '--erase', '--reinstall', '--eval', '-E', '--pipe'].includes(
          a.value.split('=')[0]!,
        ),
    )
    ? [exec('rpm runs package scriptlets, macros (--eval) or a pipe command')]
    : [];

/** Modes of ssh-keygen that only read (fingerprints, public keys, lookups, conversions to stdout). */
const SSH_KEYGEN_READS = /^-[A-Za-z]*[lyFBLQreiD]/;

/**
 * ssh-keygen writes in every other mode: a new key pair (`-f FILE` and FILE.pub, else under
 * ~/.ssh), a changed passphrase or comment (`-p`, `-c`), a hashed or edited known_hosts (`-H`,
 * `-R`), a certificate (`-s`).
 */
function sshKeygenWrites(argv: readonly Arg[]): Effect[] {
  if (argv.length === 1 || onlyInformational(argv))
    return argv.length === 1 ? [write('ssh-keygen creates a key pair')] : [];
  if (argv.slice(1).some((a) => SSH_KEYGEN_READS.test(a.value) && !a.value.startsWith('--'))) return [];
  const f = argv.findIndex((a, i) => i > 0 && a.value === '-f');
  const file = f > 0 ? argv[f + 1] : undefined;
  if (file === undefined) return [write('ssh-keygen writes key files')];
  return file.exact
    ? [
        write('ssh-keygen writes key files', file),
        write('ssh-keygen writes key files', { ...file, value: `${file.value}.pub` }),
      ]
    : [write('ssh-keygen writes key files', file)];
}

/** pip's `--editor CMD` (config edit) runs CMD. */
const withEditor =
  (name: string, inner: ProgramAnalyser): ProgramAnalyser =>
  (argv) =>
    argv.some((a) => a.value === '--editor' || a.value.startsWith('--editor='))
      ? [...inner(argv), exec(`${name} --editor runs a program`)]
      : inner(argv);

export const CODE_RUNNERS: Record<string, ProgramAnalyser> = {
  ...Object.fromEntries(
    [
      'make',
      'gmake',
      'bmake',
      'ninja',
      'meson',
      'scons',
      'ant',
      'mvn',
      'gradle',
      'rake',
      'cmake',
      'ctest',
      'bazel',
    ].map((n) => [n, alwaysRuns(`${n} runs the build's commands`)]),
  ),
  ...Object.fromEntries(
    [
      'ansible',
      'ansible-playbook',
      'ansible-pull',
      'terraform',
      'tofu',
      'pulumi',
      'npx',
      'pnpx',
      'bunx',
      'emacs',
      'emacsclient',
    ].map((n) => [n, alwaysRuns(`${n} runs code`)]),
  ),
  ed: (argv) => (onlyInformational(argv) ? [] : [stdinProgram('ed reads commands (! included) from stdin')]),
  npm: unlessSubcommand('npm', NPM_PLAIN),
  pnpm: unlessSubcommand('pnpm', NPM_PLAIN),
  yarn: unlessSubcommand('yarn', NPM_PLAIN, 'runs'),
  bun: unlessSubcommand('bun', NPM_PLAIN),
  cargo: unlessSubcommand('cargo', CARGO_PLAIN),
  go: unlessSubcommand('go', GO_PLAIN),
  bundle: unlessSubcommand('bundle', BUNDLE_PLAIN, 'runs'),
  bundler: unlessSubcommand('bundler', BUNDLE_PLAIN, 'runs'),
  ...Object.fromEntries(
    ['pip', 'pip3', 'pipx', 'uv'].map((n) => [n, withEditor(n, whenSubcommand(n, PIP_RUNS, PIP_WRITES))]),
  ),
  ...Object.fromEntries(['apt', 'apt-get', 'aptitude'].map((n) => [n, whenSubcommand(n, APT_RUNS, APT_WRITES, true)])),
  ...Object.fromEntries(
    ['yum', 'dnf', 'microdnf', 'apk', 'pacman', 'snap', 'flatpak', 'brew'].map((n) => [n, whenSubcommand(n, PKG_RUNS)]),
  ),
  dpkg,
  rpm,
  // zypper runs zypper-SUBCOMMAND from its commands directory for any subcommand it lacks.
  zypper: unlessSubcommand('zypper', ZYPPER_PLAIN),
  mysql: sqlClient('mysql', ['-e', '--execute'], /\\!|^\s*system\b|\n\s*system\b/im),
  mariadb: sqlClient('mariadb', ['-e', '--execute'], /\\!|^\s*system\b|\n\s*system\b/im),
  psql: sqlClient('psql', ['-c', '--command'], /\\!|\\o|\\copy|\bprogram\b/i),
  sqlite3: sqlite,
  sqlite: sqlite,
  ...Object.fromEntries(['gcc', 'g++', 'cc', 'c++', 'c89', 'c99', 'clang', 'clang++'].map((n) => [n, compiler(n)])),
  // A PKCS#11 or FIDO provider is a shared library loaded into the process.
  'ssh-keygen': withOptions('ssh-keygen', ['-D', '-w'], sshKeygenWrites),
  'ssh-add': withOptions('ssh-add', ['-s', '-S']),
  nano: withOptions('nano', ['-s', '--speller']),
  unzip,
  '7z': sevenZip,
  '7za': sevenZip,
  '7zr': sevenZip,
  cpio,
};
