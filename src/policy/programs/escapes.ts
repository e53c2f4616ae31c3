/**
 * Programs with a way out to another program that ordinary-looking words open (GTFOBins'
 * shell, command and reverse-shell functions), found by sweeping its entries against the
 * engine under rules that name each program:
 *
 * - runners whose operands are the command they run (`cpulimit -l 50 CMD`, `valgrind CMD`):
 *   the inner command is checked like any other (wrappers, wrapper.ts);
 * - options, operands or subcommands that run a command or code the policy cannot see
 *   (`socat - exec:CMD`, `openvpn --up CMD`, `tex --shell-escape`, `run-parts DIR`) → exec;
 * - programs that read commands, shell escapes (`!cmd`) included, from stdin (`ftp`,
 *   `smbclient`, `debugfs`): fed by a pipe they run what they read → stdin program.
 *
 * Matching is on whole words and option names; a word that may turn into an option makes the
 * table refuse to read the command (opaque), like the other tables.
 */
import { exec, opaque, stdinProgram } from './args.js';
import type { Effect, ProgramAnalyser } from './types.js';
import { wrapper } from './wrapper.js';

const INFORMATIONAL = new Set(['--help', '-h', '--version', '-V', '-v']);

/** The option name of a word: `--up=x` → `--up`; undefined for operands. */
const optionOf = (word: string): string | undefined =>
  word.startsWith('-') ? (word.includes('=') ? word.slice(0, word.indexOf('=')) : word) : undefined;

interface EscapeSpec {
  /** Runs code whatever the arguments (except --help/--version alone). */
  always?: boolean;
  /** Options that run a command or load code (exact names; a short one also as a prefix: `-e/bin/sh`). */
  options?: readonly string[];
  /** Subcommands (first operand) that run a command. */
  subcommands?: readonly string[];
  /** An operand or option value that runs a command (`exec:…`, a path to a unit file). */
  word?: RegExp;
  /** Reads commands, shell escapes included, from stdin (unless `batch` options give them otherwise). */
  stdin?: boolean;
  /** Without an operand it starts a shell or a server running one. */
  bare?: boolean;
  /** Words that make the invocation read-only whatever else it has (`screen -ls`). */
  readOnly?: readonly string[];
}

function escapeAnalyser(name: string, spec: EscapeSpec): ProgramAnalyser {
  return (argv) => {
    const words = argv.slice(1);
    if (words.length === 1 && INFORMATIONAL.has(words[0]!.value)) return [];
    const hidden = words.find((a) => !a.exact && a.mayBeOption);
    if (hidden !== undefined) return [opaque(`${name}: ${hidden.value} may be any option`)];
    if (words.some((a) => spec.readOnly?.includes(a.value) === true)) return [];
    const effects: Effect[] = [];
    if (spec.always === true) effects.push(exec(`${name} runs code`));
    for (const arg of words) {
      const option = optionOf(arg.value);
      const hit =
        option !== undefined &&
        spec.options?.find((o) => o === option || (o.length === 2 && !o.startsWith('--') && arg.value.startsWith(o)));
      if (hit) effects.push(exec(`${name} ${hit}`));
      if (spec.word?.test(arg.value) === true) effects.push(exec(`${name} ${arg.value.slice(0, 24)}`));
    }
    const sub = words.find((a) => !a.value.startsWith('-'));
    if (sub !== undefined && spec.subcommands?.includes(sub.value) === true) effects.push(exec(`${name} ${sub.value}`));
    if (sub === undefined && spec.bare === true) effects.push(exec(`${name} starts a shell`));
    if (spec.stdin === true) effects.push(stdinProgram(`${name} reads commands (shell escapes included) from stdin`));
    return effects;
  };
}

const ESCAPES: Record<string, EscapeSpec> = {
  // Code by nature: tracers, macro processors, build and sandbox tools, language REPLs.
  ...Object.fromEntries(
    [
      'bpftrace', 'm4', 'capsh', 'mosh', 'latexmk', 'cobc', 'gtester', 'forge', 'cdist',
      'ansible-test', 'arch-nspawn', 'perlbug', 'easyrsa', 'ghc', 'ghci', 'guile', 'gnuplot', 'julia', 'clisp',
      'octave', 'octave-cli', 'slsh', 'jrunscript', 'jjs', 'jshell', 'dotnet', 'csvtool', 'msgfilter', 'xdg-user-dir',
      'xdotool', 'wg-quick', 'logrotate', 'run-parts', 'sash', 'codex', 'dvips',
    ].map((n) => [n, { always: true }]),
  ),
  screen: { always: true, readOnly: ['-ls', '-list', '--version', '-v'] },
  // `setarch [ARCH] [options] [PROGRAM]`: the architecture is optional, so PROGRAM cannot be told from it.
  setarch: { always: true, readOnly: ['--list'] },
  java: { always: true, readOnly: ['-version', '--version', '-help', '--help', '-showversion'] },
  ...Object.fromEntries(['nc', 'netcat', 'ncat', 'nc.traditional', 'nc.openbsd'].map((n) => [n, { options: ['-e', '-c', '--exec', '--sh-exec', '--lua-exec'] }])),
  socket: { options: ['-p'] },
  exiftool: { options: ['-if', '-api', '-config', '-userParam', '-p'] },
  'redis-cli': { word: /^(?:config|eval|evalsha|eval_ro|module|script|debug|slaveof|replicaof|function|fcall|save|bgsave)$/i },
  check_ssl_cert: { options: ['--grep-bin', '--openssl', '--curl-bin', '--file-bin', '--date'] },
  dnsmasq: { options: ['--conf-script', '--dhcp-script', '--dhcp-luascript', '-6'] },
  zic: { options: ['-y'] },
  procmail: { options: ['-m'], always: true },
  aria2c: { options: ['--on-download-start', '--on-download-pause', '--on-download-stop', '--on-download-complete', '--on-download-error', '--on-bt-download-complete'] },
  pkg: { subcommands: ['install', 'add', 'upgrade', 'delete', 'remove', 'autoremove'] },
  rsyslogd: { options: ['-f'] },
  poetry: { subcommands: ['run', 'install', 'shell', 'build', 'add', 'update', 'lock', 'self'] },
  knife: { subcommands: ['exec', 'ssh', 'bootstrap'] },
  sqlmap: { options: ['--eval', '--os-cmd', '--os-shell', '--os-pwn', '--tamper', '--preprocess', '--postprocess'] },
  gimp: { options: ['-b', '--batch', '--batch-interpreter'] },
  bee: { subcommands: ['eval', 'php-eval', 'php-script', 'scr'] },
  facter: { options: ['--custom-dir', '--external-dir', '-c', '--config'] },
  cowsay: { options: ['-f'] },
  cowthink: { options: ['-f'] },
  needrestart: { options: ['-c'] },
  pandoc: { options: ['-L', '--lua-filter', '-F', '--filter'] },
  tshark: { options: ['-X'] },
  ffmpeg: { word: /(?:^|[=,:])(?:ladspa|lv2|frei0r|lua)(?:$|[=,:])/ },
  nginx: { options: ['-c', '-g'] },
  ...Object.fromEntries(['easy_install', 'vagrant', 'bashbug', 'vipw', 'vigr', 'run-mailcap', 'visudo'].map((n) => [n, { always: true }])),
  ...Object.fromEntries(
    ['tmux', 'tmate'].map((n) => [
      n,
      {
        bare: true,
        options: ['-c', '-S', '-L', '-f'],
        subcommands: [
          'new-session', 'new', 'new-window', 'neww', 'split-window', 'splitw', 'send-keys', 'send', 'run-shell', 'run',
          'if-shell', 'if', 'respawn-pane', 'respawnp', 'respawn-window', 'respawnw', 'pipe-pane', 'pipep',
          'source-file', 'source', 'display-message', 'display', 'command-prompt', 'confirm-before', 'attach-session',
          'attach', 'a', 'at',
        ],
      },
    ]),
  ),
  dc: { options: ['-e', '--expression', '-f', '--file'], stdin: true },
  lftp: { options: ['-c', '-f', '-e'], stdin: true },
  socat: { word: /^(?:exec|system):/i },
  openvpn: { options: ['--up', '--down', '--route-up', '--route-pre-down', '--ipchange', '--client-connect', '--client-disconnect', '--learn-address', '--auth-user-pass-verify', '--tls-verify', '--script-security', '--config', '--plugin'] },
  certbot: { options: ['--pre-hook', '--post-hook', '--deploy-hook', '--manual-auth-hook', '--manual-cleanup-hook', '--renew-hook'] },
  restic: { options: ['--password-command', '--option', '-o'] },
  sshfs: { options: ['-o'], word: /ssh_command=|ssh_protocol/ },
  sshuttle: { options: ['--ssh-cmd', '-e'] },
  dhclient: { options: ['-sf'] },
  plymouth: { options: ['--command'] },
  busctl: { word: /unixexec:/ },
  enscript: { options: ['-I', '--filter'] },
  fastfetch: { options: ['-c', '--config', '--load-config'] },
  neofetch: { options: ['--config', '--source', '--ascii'] },
  fzf: { options: ['--bind', '--preview', '--with-shell', '--listen'] },
  gem: { subcommands: ['open', 'install', 'build', 'exec', 'update', 'pristine', 'rebuild'], options: ['-e', '--editor'] },
  genie: { options: ['-c', '--command', '-s', '--shell'] },
  hg: { options: ['--config', '--debugger'], subcommands: ['serve', 'debugshell'] },
  mail: { options: ['--exec', '-E'], stdin: true },
  mailx: { options: ['--exec', '-E'], stdin: true },
  ...Object.fromEntries(
    ['tex', 'latex', 'pdflatex', 'xelatex', 'xetex', 'lualatex', 'luatex', 'pdftex', 'etex', 'context'].map((n) => [
      n,
      { options: ['--shell-escape', '-shell-escape', '--enable-write18', '-enable-write18'] },
    ]),
  ),
  rpmdb: { options: ['--eval', '-E', '--pipe'] },
  rpmquery: { options: ['--eval', '-E', '--pipe'] },
  rpmverify: { options: ['--eval', '-E', '--pipe'] },
  task: { subcommands: ['execute'] },
  'yt-dlp': { options: ['--exec', '--exec-before-download', '--netrc-cmd'] },
  'youtube-dl': { options: ['--exec'] },
  scrot: { options: ['-e', '--exec'] },
  pidstat: { options: ['-e'] },
  ksu: { options: ['-e'] },
  agetty: { options: ['-l', '--login-program'] },
  cabal: { subcommands: ['exec', 'run', 'repl', 'test', 'bench', 'build', 'install', 'v2-exec', 'v2-run'] },
  composer: { subcommands: ['run-script', 'run', 'exec', 'install', 'update', 'require', 'create-project', 'global'] },
  rustup: { subcommands: ['run', 'toolchain', 'default', 'override', 'update', 'install'] },
  opkg: { subcommands: ['install', 'upgrade', 'remove', 'configure'] },
  borg: { options: ['--rsh', '--remote-path'] },
  asterisk: { options: ['-r', '-R', '-x'] },
  // Programs that read commands, shell escapes (`!cmd`) included, from stdin.
  ...Object.fromEntries(
    [
      'ftp', 'telnet', 'smbclient', 'ncftp', 'psftp', 'debugfs', 'bconsole', 'tdbtool', 'tasksh', 'ginsh', 'scanmem',
      'hping3', 'jtag', 'minicom', 'ispell', 'red', 'sqlplus', 'irb', 'pry', 'cpan', 'msfconsole', 'tftp', 'crash',
    ].map((n) => [n, { stdin: true }]),
  ),
}; // prettier-ignore

/** Runners whose operands are the command they run; options from their manuals. */
const RUNNERS: Record<string, ProgramAnalyser> = {
  'aa-exec': wrapper('aa-exec', { options: '--profile,-p= --namespace,-n= --immediate,-i --verbose,-v --debug,-d' }),
  choom: wrapper('choom', { options: '--adjust,-n= --pid,-p=', noCommandWith: ['--pid'] }),
  cpulimit: wrapper('cpulimit', {
    options:
      '--limit,-l= --pid,-p= --exe,-e= --path,-P= --lazy,-z --include-children,-i --foreground,-f --quiet,-q --kill,-k --restore,-r --background,-b --cpu,-c= --verbose,-v',
    noCommandWith: ['--pid', '--exe', '--path'],
  }),
  pexec: wrapper('pexec', { options: '' }),
  multitime: wrapper('multitime', { options: '-n= -q -s= -f= -I=', abbreviate: false }),
  rlwrap: wrapper('rlwrap', { options: '' }),
  setlock: wrapper('setlock', { options: '-n -N -x -X', abbreviate: false, positionals: 1 }),
  softlimit: wrapper('softlimit', { options: '-m= -a= -d= -s= -l= -f= -c= -o= -p= -t= -r=', abbreviate: false }),
  sshpass: wrapper('sshpass', { options: '-p= -f= -d= -e -P= -v', abbreviate: false }),
  'ssh-agent': wrapper('ssh-agent', {
    options: '-a= -c -D -d -E= -k -P= -s -t= -O=',
    abbreviate: false,
    noCommandWith: ['-k'],
  }),
  torify: wrapper('torify', { options: '' }),
  torsocks: wrapper('torsocks', {
    options: '--user,-u= --pass,-p= --address,-a= --port,-P= --isolate,-i --debug,-d --quiet,-q',
  }),
  valgrind: wrapper('valgrind', {
    options: '--tool= --quiet,-q --verbose,-v --trace-children= --log-file= --leak-check=',
  }),
  distcc: wrapper('distcc', { options: '' }),
  grc: wrapper('grc', { options: '--es,-e --stdout,-s --stderr --colour= --config,-c= --pty', abbreviate: false }),
  aoss: wrapper('aoss', { options: '' }),
  fakeroot: wrapper('fakeroot', { options: '-l= --lib= --faked= -s= -i= -u --unknown-is-real -b=' }),
  faketime: wrapper('faketime', { options: '-m -f -p= --exclude-monotonic', abbreviate: false, positionals: 1 }),
  proxychains: wrapper('proxychains', { options: '-q -f=', abbreviate: false }),
  proxychains4: wrapper('proxychains4', { options: '-q -f=', abbreviate: false }),
  catchsegv: wrapper('catchsegv', { options: '' }),
  firejail: wrapper('firejail', { options: '--quiet --noprofile --private --net=none' }),
  ...Object.fromEntries(
    ['ld.so', 'ld-linux.so.2', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1', 'ld-musl-x86_64.so.1'].map((n) => [
      n,
      wrapper(n, {
        options: '--list --verify --library-path= --preload= --inhibit-cache --audit= --argv0=',
        abbreviate: false,
      }),
    ]),
  ),
  // `perf stat|record|trace [options] CMD…`; other subcommands run nothing of the caller's.
  perf: (argv) => {
    const sub = argv[1];
    if (
      sub === undefined ||
      !['stat', 'record', 'trace', 'top', 'sched', 'kvm', 'mem', 'c2c', 'lock'].includes(sub.value)
    )
      return [];
    return sub.exact ? [exec(`perf ${sub.value} runs a command`)] : [opaque('perf: subcommand not known exactly')];
  },
  // `service NAME …` runs /etc/init.d/NAME: a name with a `/` walks out of it.
  service: (argv) =>
    argv[1] !== undefined && (!argv[1].exact || argv[1].value.includes('/'))
      ? [exec('service runs a script by path')]
      : [],
};

export const ESCAPE_TABLE: Record<string, ProgramAnalyser> = {
  ...Object.fromEntries(Object.entries(ESCAPES).map(([n, spec]) => [n, escapeAnalyser(n, spec)])),
  ...RUNNERS,
};
