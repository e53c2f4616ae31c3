/**
 * Programs whose exec- and write-capable options can be listed as data (GTFOBins' shell,
 * command and file-write functions, and the programs' manuals): program → options → effect.
 * Options are read leniently (see getopt.ts): only the options listed with `=` take a value,
 * so an unknown option is read as a flag and the words after it are still examined; every
 * abbreviation of a listed long option counts as that option.
 */
import { baseName, exec, opaque, runsScript, stdinProgram, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import type { Parsed } from './getopt.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';

/** What an option does: run something, write the file its value names, write somewhere unknown. */
type Rule = 'exec' | 'write' | 'writes' | 'opaque' | 'stdin';

interface TableEntry {
  /** Option notation (getopt.ts): every option taking a value, and every option with a rule. */
  options: string;
  rules: Record<string, Rule>;
  /** GNU permutation: options may follow operands. Default true. */
  permute?: boolean;
  /** Unknown options are refused instead of read as flags (small, fully listed tables). */
  strict?: boolean;
  /** Effects of the operands and of the invocation as a whole. */
  more?: (parsed: Parsed, argv: readonly Arg[]) => Effect[];
}

/** Values of an output option that write nothing a policy cares about. */
const HARMLESS_OUTPUTS = new Set(['-', '/dev/null', '/dev/stdout', '/dev/stderr']);

function effectOf(rule: Rule, feature: string, value: Arg | undefined): Effect | undefined {
  switch (rule) {
    case 'exec':
      return exec(feature);
    case 'opaque':
      return opaque(feature);
    case 'stdin':
      return stdinProgram(feature);
    case 'writes':
      return write(feature);
    case 'write':
      return value?.exact === true && HARMLESS_OUTPUTS.has(value.value) ? undefined : write(feature, value);
  }
}

export function tableAnalyser(entry: TableEntry): ProgramAnalyser {
  const table = options(`${entry.options} --help --version`);
  return (argv) => {
    const program = baseName(argv[0]?.value ?? '');
    const parsed = parse(argv, table, {
      abbreviate: true,
      permute: entry.permute ?? true,
      lenient: entry.strict !== true,
    });
    if (parsed.problem !== undefined) return [opaque(`${program}: ${parsed.problem}`)];
    const effects: Effect[] = [];
    for (const option of parsed.options) {
      const rule = entry.rules[option.name];
      const effect = rule === undefined ? undefined : effectOf(rule, `${program} ${option.name}`, option.value);
      if (effect !== undefined) effects.push(effect);
    }
    effects.push(...(entry.more?.(parsed, argv) ?? []));
    return effects;
  };
}

const operandArgs = (parsed: Parsed, argv: readonly Arg[]): Arg[] => parsed.operands.map((i) => argv[i]!);

/** rsync and scp style: `HOST:path`, `user@host:path`, `rsync://…` are remote; others local. */
export function isLocalPath(arg: Arg): boolean {
  const v = arg.value;
  const colon = v.indexOf(':');
  const slash = v.indexOf('/');
  return !(colon >= 0 && (slash < 0 || colon < slash)) && !v.startsWith('rsync://');
}

/** The destination (last operand of two or more) when it is local. */
function localDestination(feature: string) {
  return (parsed: Parsed, argv: readonly Arg[]): Effect[] => {
    const operands = operandArgs(parsed, argv);
    const destination = operands.at(-1);
    if (operands.length < 2 || destination === undefined || !isLocalPath(destination)) return [];
    return [write(feature, destination)];
  };
}

const SORT = tableAnalyser({
  strict: true,
  options:
    '--ignore-leading-blanks,-b --dictionary-order,-d --ignore-case,-f --general-numeric-sort,-g ' +
    '--ignore-nonprinting,-i --month-sort,-M --human-numeric-sort,-h --numeric-sort,-n --random-sort,-R ' +
    '--random-source= --reverse,-r --sort= --version-sort,-V --batch-size= --check=? -c -C ' +
    '--compress-program= --debug --files0-from= --key,-k= --merge,-m --output,-o= --stable,-s ' +
    '--buffer-size,-S= --field-separator,-t= --temporary-directory,-T= --parallel= --unique,-u --zero-terminated,-z',
  rules: { '--output': 'write', '--compress-program': 'exec' },
});

const RSYNC = tableAnalyser({
  options:
    '--rsh,-e= --rsync-path= --remote-option,-M= --block-size,-B= --filter,-f= --temp-dir,-T= ' +
    '--modify-window,-@= --exclude= --include= --exclude-from= --include-from= --files-from= --log-file= ' +
    '--log-file-format= --out-format= --password-file= --backup-dir= --suffix= --partial-dir= ' +
    '--compare-dest= --copy-dest= --link-dest= --chmod= --chown= --usermap= --groupmap= --timeout= ' +
    '--contimeout= --port= --sockopts= --bwlimit= --write-batch= --only-write-batch= --read-batch= ' +
    '--protocol= --iconv= --max-size= --min-size= --max-delete= --checksum-choice= --compress-choice= ' +
    '--compress-level= --skip-compress= --info= --debug= --config= --dparam= --address= --outbuf= ' +
    '--stop-after= --stop-at= --remove-source-files --daemon',
  rules: {
    '--rsh': 'exec',
    '--rsync-path': 'exec',
    '--remote-option': 'opaque',
    '--config': 'opaque',
    '--daemon': 'opaque',
    '--log-file': 'write',
    '--write-batch': 'writes',
    '--only-write-batch': 'writes',
    '--remove-source-files': 'writes',
  },
  more: localDestination('rsync destination'),
});

const TCPDUMP = tableAnalyser({
  options:
    '-B= --buffer-size= -c= --count= -C= -E= -F= -G= -i= --interface= -j= --time-stamp-type= -m= -M= -r= ' +
    '-s= --snapshot-length= -T= -V= -w= -W= -y= --linktype= -z= -Z= --relinquish-privileges= ' +
    '--time-stamp-precision= --micro --nano --print -Q= --direction= --immediate-mode --number',
  rules: { '-z': 'exec', '-w': 'write', '-C': 'writes', '-G': 'writes' },
});

const MAN = tableAnalyser({
  options:
    '--config-file,-C= --manpath,-M= --pager,-P= --sections,-S,-s= --extension,-e= --systems,-m= ' +
    '--locale,-L= --prompt,-r= --recode,-R= --encoding,-E= --preprocessor,-p= --troff-device,-T=? ' +
    '--html,-H=? --gxditview,-X=?',
  rules: { '--pager': 'exec', '--html': 'exec', '--gxditview': 'exec', '--config-file': 'exec', '--recode': 'writes' },
});

const CURL = tableAnalyser({
  options:
    '--output,-o= --remote-name,-O --remote-name-all --remote-header-name,-J --output-dir= ' +
    '--dump-header,-D= --cookie-jar,-c= --trace= --trace-ascii= --libcurl= --etag-save= --stderr= ' +
    '--hsts= --alt-svc= --config,-K= --user-agent,-A= --cookie,-b= --continue-at,-C= --data,-d= ' +
    '--data-ascii= --data-binary= --data-raw= --data-urlencode= --json= --referer,-e= --cert,-E= ' +
    '--form,-F= --form-string= --header,-H= --max-time,-m= --ftp-port,-P= --quote,-Q= --range,-r= ' +
    '--telnet-option,-t= --upload-file,-T= --user,-u= --proxy-user,-U= --write-out,-w= --proxy,-x= ' +
    '--request,-X= --speed-limit,-Y= --speed-time,-y= --time-cond,-z= --url= --connect-timeout= ' +
    '--retry= --cacert= --capath= --key= --resolve= --connect-to= --limit-rate= --interface= ' +
    '--netrc-file= --unix-socket= --proto= --proto-redir= --variable= --expand-url= --etag-compare= --engine=',
  rules: {
    // An OpenSSL engine is a shared library loaded into curl.
    '--engine': 'exec',
    '--output': 'write',
    '--remote-name': 'writes',
    '--remote-name-all': 'writes',
    '--remote-header-name': 'writes',
    '--output-dir': 'writes',
    '--dump-header': 'write',
    '--cookie-jar': 'write',
    '--trace': 'write',
    '--trace-ascii': 'write',
    '--libcurl': 'write',
    '--etag-save': 'write',
    '--stderr': 'write',
    '--hsts': 'write',
    '--alt-svc': 'write',
    '--config': 'opaque',
  },
});

const WGET = tableAnalyser({
  options:
    '--output-document,-O= --output-file,-o= --append-output,-a= --directory-prefix,-P= --execute,-e= ' +
    '--use-askpass=? --config= --input-file,-i= --base,-B= --tries,-t= --timeout,-T= --wait,-w= --quota,-Q= ' +
    '--user-agent,-U= --level,-l= --accept,-A= --reject,-R= --domains,-D= --include-directories,-I= ' +
    '--exclude-directories,-X= --save-cookies= --warc-file= --rejected-log= --spider --header= ' +
    '--post-data= --post-file= --user= --password= --load-cookies= --ca-certificate= --bind-address=',
  rules: {
    '--output-file': 'write',
    '--append-output': 'write',
    '--directory-prefix': 'writes',
    '--execute': 'exec',
    '--use-askpass': 'exec',
    '--config': 'opaque',
    '--save-cookies': 'write',
    '--warc-file': 'writes',
    '--rejected-log': 'write',
  },
  // wget saves what it downloads, to -O FILE or to a name taken from the URL.
  more: (parsed) => {
    if (has(parsed, '--spider', '--help', '--version')) return [];
    const documents = named(parsed, '--output-document');
    if (documents.length === 0) return [write('wget saves the download')];
    return documents.flatMap((o) =>
      o.value?.exact === true && HARMLESS_OUTPUTS.has(o.value.value) ? [] : [write('wget -O', o.value)],
    );
  },
});

const TEE = tableAnalyser({
  options: '--append,-a --ignore-interrupts,-i -p --output-error=?',
  rules: {},
  more: (parsed, argv) =>
    operandArgs(parsed, argv).flatMap((f) => (f.exact && f.value === '-' ? [] : [write('tee FILE', f)])),
});

/** uniq's second operand is its OUTPUT file (found by the differential oracle: `uniq in out`). */
const UNIQ = tableAnalyser({
  strict: true,
  options:
    '--count,-c --repeated,-d -D --all-repeated=? --skip-fields,-f= --group=? --ignore-case,-i ' +
    '--skip-chars,-s= --unique,-u --zero-terminated,-z --check-chars,-w=',
  rules: {},
  more: (parsed, argv) => {
    const output = parsed.operands[1];
    return output === undefined ? [] : [write('uniq OUTPUT', argv[output])];
  },
});

/** xxd's second operand is its output file; `-r` turns a dump back into bytes there. */
const XXD_WITH_VALUE = new Set([
  '-c',
  '-cols',
  '-g',
  '-groupsize',
  '-l',
  '-len',
  '-n',
  '-name',
  '-o',
  '-s',
  '-seek',
  '-R',
]);
const XXD: ProgramAnalyser = (argv) => {
  const operands: Arg[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.mayBeOption || arg.splits) return [opaque(`xxd: ${arg.value}`)];
    if (arg.value.startsWith('-') && arg.value !== '-' && operands.length === 0) {
      if (XXD_WITH_VALUE.has(arg.value)) i++;
      continue;
    }
    operands.push(arg);
  }
  const output = operands[1];
  return output === undefined ? [] : [write('xxd OUTFILE', output)];
};

/** Text tools with an output-file option. */
const ICONV = tableAnalyser({
  options: '--from-code,-f= --to-code,-t= --output,-o= -c -s --silent --list,-l --verbose',
  rules: { '--output': 'write' },
});
const SHUF = tableAnalyser({
  options:
    '--echo,-e --input-range,-i= --head-count,-n= --output,-o= --random-source= --repeat,-r --zero-terminated,-z',
  rules: { '--output': 'write' },
});
/** split and csplit write pieces named by a prefix: files the policy cannot list. */
const SPLIT: ProgramAnalyser = () => [write('split writes its pieces')];

/** ripgrep runs a preprocessor per file (`--pre`) and a hostname program (`--hostname-bin`). */
const RG = tableAnalyser({
  options:
    '--pre= --pre-glob= --hostname-bin= --search-zip,-z --regexp,-e= --file,-f= --glob,-g= --iglob= --type,-t= ' +
    '--type-not,-T= --max-count,-m= --max-depth,-d= --context,-C= --after-context,-A= --before-context,-B= ' +
    '--replace,-r= --encoding,-E= --ignore-file= --type-add= --max-filesize= --threads,-j= --sort= --sortr= ' +
    '--colors= --path-separator= --field-match-separator= --field-context-separator= --context-separator= ' +
    '--engine= --dfa-size-limit= --regex-size-limit= --max-columns,-M= --pre-glob=',
  rules: { '--pre': 'exec', '--hostname-bin': 'exec', '--search-zip': 'exec' },
});

/** ss -D writes raw socket information to a file. */
const SS = tableAnalyser({
  options: '--diag,-D= --filter,-F= --family,-f= --query,-A= --kill,-K',
  rules: { '--diag': 'write', '--kill': 'opaque' },
});

/** file -C compiles a magic file, writing NAME.mgc. */
const FILE = tableAnalyser({
  options:
    '--compile,-C --magic-file,-m= --exclude,-e= --exclude-quiet= --files-from,-f= --separator,-F= --parameter,-P=',
  rules: { '--compile': 'writes' },
});

/** yq edits files in place with -i. */
const YQ = tableAnalyser({
  options:
    '--inplace,-i --output-format,-o= --input-format,-p= --front-matter,-f= --indent,-I= --expression= --from-file=',
  rules: { '--inplace': 'writes', '--from-file': 'opaque' },
});

/** dd's operands are `key=value`; `of=` names the output file. */
const DD: ProgramAnalyser = (argv) =>
  argv.slice(1).flatMap((arg) => {
    if (!arg.value.startsWith('of=')) return arg.mayBeOption || arg.splits ? [opaque(`dd: ${arg.value}`)] : [];
    const file = { ...arg, value: arg.value.slice(3), mayBeOption: false };
    return file.exact && HARMLESS_OUTPUTS.has(file.value) ? [] : [write('dd of=', file)];
  });

const JOURNALCTL = tableAnalyser({
  options:
    '--vacuum-size= --vacuum-files= --vacuum-time= --rotate --flush --relinquish-var --smart-relinquish-var ' +
    '--sync --update-catalog --setup-keys --output,-o= --unit,-u= --user-unit= --identifier,-t= --priority,-p= ' +
    '--since,-S= --until,-U= --boot,-b=? --lines,-n=? --directory,-D= --file= --root= --image= --machine,-M= ' +
    '--grep,-g= --field,-F= --cursor,-c= --after-cursor= --cursor-file= --facility= --namespace= --output-fields=',
  rules: {
    '--vacuum-size': 'writes',
    '--vacuum-files': 'writes',
    '--vacuum-time': 'writes',
    '--rotate': 'writes',
    '--flush': 'writes',
    '--relinquish-var': 'writes',
    '--smart-relinquish-var': 'writes',
    '--sync': 'writes',
    '--update-catalog': 'writes',
    '--setup-keys': 'writes',
    '--cursor-file': 'write',
  },
});

/** util-linux script: `-c CMD` runs CMD through the user's shell; without it a shell reads stdin. */
const SCRIPT = tableAnalyser({
  strict: true,
  options:
    '--append,-a --command,-c= --echo,-E= --return,-e --flush,-f --force --log-io,-B= --log-in,-I= ' +
    '--log-out,-O= --log-timing,-T= --logging-format,-m= --output-limit,-o= --quiet,-q --timing,-t=?',
  rules: {
    '--log-io': 'write',
    '--log-in': 'write',
    '--log-out': 'write',
    '--log-timing': 'write',
    '--timing': 'write',
  },
  more: (parsed, argv) => {
    if (has(parsed, '--help', '--version')) return [];
    const file = parsed.operands[0];
    const effects: Effect[] = [file === undefined ? write('script typescript file') : write('script FILE', argv[file])];
    const commands = named(parsed, '--command');
    for (const c of commands)
      effects.push(
        c.valueIndex === undefined
          ? opaque('script --command=… attached')
          : runsScript('script -c', c.valueIndex, c.valueIndex + 1),
      );
    if (commands.length === 0) effects.push(stdinProgram('script starts a shell'));
    return effects;
  },
});

const SYSTEMCTL_LOADS = new Set([
  'link', 'enable', 'reenable', 'start', 'restart', 'try-restart', 'reload-or-restart', 'try-reload-or-restart', 'preset',
]); // prettier-ignore

export const OPTION_TABLE: Record<string, ProgramAnalyser> = {
  sort: SORT,
  rsync: RSYNC,
  tcpdump: TCPDUMP,
  man: MAN,
  curl: CURL,
  wget: WGET,
  tee: TEE,
  rg: RG,
  ss: SS,
  file: FILE,
  yq: YQ,
  uniq: UNIQ,
  xxd: XXD,
  iconv: ICONV,
  shuf: SHUF,
  split: SPLIT,
  csplit: SPLIT,
  dd: DD,
  journalctl: JOURNALCTL,
  script: SCRIPT,
  // A unit given by path to a command that loads it (`systemctl link /tmp/x.service`,
  // `enable --now ./x.service`) runs its code; `edit` runs an editor.
  systemctl: (argv) => {
    const operands = argv.slice(1).filter((a) => !a.value.startsWith('-'));
    const verb = operands[0]?.value ?? '';
    if (verb === 'edit') return [exec('systemctl edit runs an editor')];
    if (!SYSTEMCTL_LOADS.has(verb)) return [];
    return operands.slice(1).some((a) => !a.exact || a.value.includes('/'))
      ? [exec(`systemctl ${verb} with a unit file by path`)]
      : [];
  },
};
