/**
 * git: global options that set configuration (`-c`, `--config-env`) or the exec path run
 * whatever that configuration names; subcommand options that run commands (`--upload-pack`,
 * `--receive-pack`, `--exec`, `--ext-diff`, `--textconv`, `grep -O`, `rebase -x`, `bisect run`,
 * `submodule foreach`) or write files (`--output`, `format-patch`, `config` writes). Unknown
 * subcommands are taken at their word. git's parse-options accepts abbreviated long options.
 */
import { exec, mayShift, opaque, runs, runsScript, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

/** `-c` keys that choose no program. */
const SAFE_CONFIG =
  /^(?:color\.[\w.-]+|advice\.[\w.-]+|core\.quotepath|safe\.directory|user\.name|user\.email|init\.defaultbranch)=/i;
const GLOBAL_VALUES = new Set([
  '-C',
  '--git-dir',
  '--work-tree',
  '--namespace',
  '--super-prefix',
  '--list-cmds',
  '--attr-source',
]);
const GLOBAL_FLAGS = new Set([
  '-p',
  '--paginate',
  '-P',
  '--no-pager',
  '--no-replace-objects',
  '--bare',
  '--literal-pathspecs',
  '--glob-pathspecs',
  '--noglob-pathspecs',
  '--icase-pathspecs',
  '--no-optional-locks',
  '--no-advice',
  '--no-lazy-fetch',
]);
const INFORMATIONAL = new Set([
  '--version',
  '--help',
  '-v',
  '-h',
  '--html-path',
  '--man-path',
  '--info-path',
  '--exec-path',
]);

type Sub = (argv: readonly Arg[], start: number) => Effect[];

/** A subcommand read leniently with option rules (see options-table.ts). */
function lenient(spec: string, rules: Record<string, 'exec' | 'write' | 'writes'>, more?: Sub): Sub {
  const table = options(spec);
  return (argv, start) => {
    const parsed = parse(argv, table, { start, abbreviate: true, permute: true, lenient: true });
    if (parsed.problem !== undefined) return [opaque(`git ${argv[start - 1]?.value ?? ''}: ${parsed.problem}`)];
    const effects: Effect[] = [];
    for (const o of parsed.options) {
      const rule = rules[o.name];
      if (rule === 'exec') effects.push(exec(`git ${o.name}`));
      else if (rule === 'write' && !(o.value?.exact === true && o.value.value === '-'))
        effects.push(write(`git ${o.name}`, o.value));
      else if (rule === 'writes') effects.push(write(`git ${o.name}`));
    }
    return [...effects, ...(more?.(argv, start) ?? [])];
  };
}

const DIFF_LIKE = lenient('--output= --ext-diff --textconv', {
  '--output': 'write',
  '--ext-diff': 'exec',
  '--textconv': 'exec',
});
const FETCH_LIKE = lenient(
  '--upload-pack= -u --depth= --deepen= --shallow-since= --shallow-exclude= --jobs,-j= --refmap= ' +
    '--server-option,-o= --negotiation-tip= --filter= --recurse-submodules=? --strategy,-s= --strategy-option,-X=',
  { '--upload-pack': 'exec', '-u': 'exec' },
);

const rebase: Sub = (argv, start) => {
  const parsed = parse(argv, options('--exec,-x= --onto= --strategy,-s= --strategy-option,-X= --interactive,-i'), {
    start,
    abbreviate: true,
    permute: true,
    lenient: true,
  });
  if (parsed.problem !== undefined) return [opaque(`git rebase: ${parsed.problem}`)];
  const effects: Effect[] = named(parsed, '--exec').map((o) =>
    o.valueIndex === undefined
      ? opaque('git rebase --exec=… attached')
      : runsScript('git rebase --exec', o.valueIndex, o.valueIndex + 1),
  );
  if (has(parsed, '--interactive')) effects.push(exec('git rebase -i runs the sequence editor'));
  return effects;
};

const CONFIG_READS = [
  '--get',
  '--get-all',
  '--get-regexp',
  '--get-urlmatch',
  '--list',
  '--get-color',
  '--get-colorbool',
];
const CONFIG_WRITES = ['--add', '--unset', '--unset-all', '--replace-all', '--rename-section', '--remove-section'];
const CONFIG = options(
  `--file,-f= --blob= --type= --default= --comment= --value= --edit,-e --list,-l ${CONFIG_READS.join(' ')} ` +
    `${CONFIG_WRITES.join(' ')} --global --system --local --worktree --show-origin --show-scope --null,-z`,
);

const config: Sub = (argv, start) => {
  const parsed = parse(argv, CONFIG, { start, abbreviate: true, permute: true, lenient: true });
  if (parsed.problem !== undefined) return [opaque(`git config: ${parsed.problem}`)];
  const operands = parsed.operands.map((i) => argv[i]!);
  const verb = operands[0]?.value;
  if (has(parsed, '--edit') || verb === 'edit') return [exec('git config --edit runs an editor')];
  if (has(parsed, ...CONFIG_WRITES) || ['set', 'unset', 'rename-section', 'remove-section'].includes(verb ?? ''))
    return [write('git config writes configuration')];
  if (has(parsed, ...CONFIG_READS) || ['get', 'list', 'get-color', 'get-colorbool'].includes(verb ?? '')) return [];
  return operands.length >= 2 ? [write('git config writes configuration')] : [];
};

const SUBCOMMANDS: Record<string, Sub> = {
  log: DIFF_LIKE,
  diff: DIFF_LIKE,
  show: DIFF_LIKE,
  whatchanged: DIFF_LIKE,
  'range-diff': DIFF_LIKE,
  'diff-tree': DIFF_LIKE,
  'diff-files': DIFF_LIKE,
  'diff-index': DIFF_LIKE,
  'format-patch': lenient(
    '--output= --output-directory,-o= --ext-diff --textconv --stdout',
    { '--output': 'write', '--output-directory': 'writes', '--ext-diff': 'exec', '--textconv': 'exec' },
    (argv, start) =>
      argv.slice(start).some((a) => a.value === '--stdout') ? [] : [write('git format-patch writes patch files')],
  ),
  grep: lenient('--open-files-in-pager,-O=? -e= -f= -A= -B= -C= -m= --max-depth= --threads=', {
    '--open-files-in-pager': 'exec',
  }),
  fetch: FETCH_LIKE,
  pull: FETCH_LIKE,
  clone: lenient(
    '--upload-pack,-u= --config,-c= --template= --origin,-o= --branch,-b= --depth= --reference= ' +
      '--reference-if-able= --separate-git-dir= --jobs,-j= --filter= --server-option= --shallow-since= ' +
      '--shallow-exclude= --bundle-uri= --recurse-submodules=?',
    { '--upload-pack': 'exec', '--config': 'exec', '--template': 'exec' },
  ),
  'ls-remote': lenient('--upload-pack,-u= --sort= --server-option,-o=', { '--upload-pack': 'exec' }),
  push: lenient(
    '--receive-pack= --exec= --repo= --push-option,-o= --force-with-lease=? --signed=? --recurse-submodules=?',
    {
      '--receive-pack': 'exec',
      '--exec': 'exec',
    },
  ),
  archive: lenient('--output,-o= --remote= --exec= --format= --prefix= --add-file= --add-virtual-file=', {
    '--output': 'write',
    '--exec': 'exec',
  }),
  // Paths outside the work tree: --directory prefixes every path, --unsafe-paths lets it leave.
  apply: lenient('--directory= --unsafe-paths --exclude= --include= --build-fake-ancestor= -p=', {
    '--unsafe-paths': 'writes',
    '--directory': 'writes',
  }),
  rebase,
  config,
  bisect: (argv, start) => {
    const run = argv.findIndex((a, i) => i >= start && a.value === 'run');
    return run === start ? runs('git bisect run', argv.slice(run + 1)) : [];
  },
  submodule: (argv, start) => {
    const foreach = argv.findIndex((a, i) => i >= start && a.value === 'foreach');
    if (foreach < 0) return [];
    let i = foreach + 1;
    while (argv[i]?.value === '--recursive' || argv[i]?.value === '--quiet' || argv[i]?.value === '-q') i++;
    return i < argv.length ? [runsScript('git submodule foreach', i, argv.length)] : [];
  },
  'filter-branch': () => [exec('git filter-branch runs filters')],
  difftool: () => [exec('git difftool runs a diff tool')],
  mergetool: () => [exec('git mergetool runs a merge tool')],
  instaweb: () => [exec('git instaweb starts a web server')],
  'send-email': () => [exec('git send-email runs a mailer')],
  daemon: () => [exec('git daemon serves repositories')],
  bundle: (argv, start) => (argv[start]?.value === 'create' ? [write('git bundle create', argv[start + 1])] : []),
};

export const git: ProgramAnalyser = (argv) => {
  const effects: Effect[] = [];
  let i = 1;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (mayShift(arg) || (!arg.exact && arg.value.startsWith('-')))
      return [opaque(`git: ${arg.value} is not known exactly`)];
    const word = arg.value;
    if (!word.startsWith('-')) break;
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (INFORMATIONAL.has(word)) return [];
    if (name === '-c') {
      const value = argv[++i];
      if (value === undefined || !value.exact) effects.push(opaque('git -c value not known exactly'));
      else if (!SAFE_CONFIG.test(value.value)) effects.push(exec(`git -c ${value.value.split('=')[0] ?? ''}`));
    } else if (name === '--config-env' || name === '--exec-path') {
      effects.push(exec(`git ${name}`));
      if (eq < 0) i++;
    } else if (GLOBAL_VALUES.has(name)) {
      if (eq < 0) i++;
    } else if (!GLOBAL_FLAGS.has(word)) {
      return [opaque(`git: unknown option ${word}`)];
    }
  }
  const sub = argv[i];
  if (sub === undefined) return effects;
  if (!sub.exact) return [opaque('git subcommand not known exactly')];
  // Own entries only: `git valueOf` must not call Object.prototype.valueOf.
  const run = Object.hasOwn(SUBCOMMANDS, sub.value) ? SUBCOMMANDS[sub.value] : undefined;
  return [...effects, ...(run?.(argv, i + 1) ?? [])];
};
