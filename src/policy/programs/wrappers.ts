/**
 * Programs that run the command in their remaining words with a changed environment, priority,
 * session or tracing (`nice`, `timeout`, `strace`, …). Each runs its inner argv, which the
 * engine checks like a top-level command; options come from the programs' manuals.
 */
import { exec, opaque, stdinProgram, write } from './args.js';
import { named } from './getopt.js';
import type { Parsed } from './getopt.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';
import { wrapper } from './wrapper.js';

const isNumber = (arg: Arg): string | undefined =>
  arg.exact && /^[0-9]+$/.test(arg.value) ? undefined : `priority ${arg.value} is not a number`;

/** `-o FILE` style options that write the file they name. */
const writes =
  (feature: string, ...names: string[]) =>
  (parsed: Parsed): Effect[] =>
    named(parsed, ...names).map((o) => write(`${feature} ${o.name}`, o.value));

/** strace/ltrace `-o |CMD` or `-o !CMD` pipe the trace into a shell command. */
const traceOutput =
  (program: string) =>
  (parsed: Parsed): Effect[] =>
    named(parsed, '--output').map((o) =>
      o.value === undefined || !o.value.exact
        ? opaque(`${program} -o with a value not known exactly`)
        : /^[|!]/.test(o.value.value)
          ? exec(`${program} -o ${o.value.value.slice(0, 1)}command`)
          : write(`${program} -o`, o.value),
    );

export const WRAPPERS: Record<string, ProgramAnalyser> = {
  nohup: wrapper('nohup', { options: '' }),
  // `nice -5 CMD` (obsolete adjustment) is not read: refused as an unknown option.
  nice: wrapper('nice', { options: '--adjustment,-n=' }),
  timeout: wrapper('timeout', {
    options: '--signal,-s= --kill-after,-k= --foreground,-f --preserve-status,-p --verbose,-v',
    positionals: 1,
  }),
  stdbuf: wrapper('stdbuf', { options: '--input,-i= --output,-o= --error,-e=' }),
  setsid: wrapper('setsid', { options: '--ctty,-c --fork,-f --wait,-w' }),
  ionice: wrapper('ionice', {
    options: '--class,-c= --classdata,-n= --pid,-p= --pgid,-P= --uid,-u= --ignore,-t',
    noCommandWith: ['--pid', '--pgid', '--uid'],
  }),
  chrt: wrapper('chrt', {
    options:
      '--batch,-b --deadline,-d --fifo,-f --idle,-i --other,-o --rr,-r --reset-on-fork,-R --all-tasks,-a ' +
      '--max,-m --pid,-p --verbose,-v --sched-runtime,-T= --sched-period,-P= --sched-deadline,-D=',
    positionals: 1,
    positional: isNumber,
    noCommandWith: ['--pid', '--max'],
  }),
  taskset: wrapper('taskset', {
    options: '--all-tasks,-a --pid,-p --cpu-list,-c --verbose,-v',
    positionals: 1,
    noCommandWith: ['--pid'],
  }),
  // GNU time (and the shell keyword `time -p`).
  time: wrapper('time', {
    options: '--append,-a --format,-f= --output,-o= --portability,-p --quiet,-q --verbose,-v',
    effects: writes('time', '--output'),
  }),
  // Shell builtins that run their words as a command; `command -v/-V` only describe it.
  command: wrapper('command', { options: '-p -v -V', noCommandWith: ['-v', '-V'], abbreviate: false }),
  exec: wrapper('exec', { options: '-c -l -a=', abbreviate: false }),
  builtin: wrapper('builtin', { options: '', abbreviate: false }),
  // expect's unbuffer: `-p` reads the pipeline's stdin, still runs the command.
  unbuffer: wrapper('unbuffer', { options: '-p', abbreviate: false }),
  strace: wrapper('strace', {
    options:
      '-c -C -d -D -f -F -h -i -k -n -q -r -t -T -v -V -w -x -y -z -Z -A -Y --summary-only --summary ' +
      '--follow-forks --output-separately --seccomp-bpf --output,-o= --attach,-p= --user,-u= --env,-E= ' +
      '--trace,-e= --string-limit,-s= --summary-sort-by,-S= --columns,-a= --detach-on,-b= --interruptible,-I= ' +
      '--trace-path,-P= --const-print-style,-X= --signal= --status= -O= -U=',
    effects: traceOutput('strace'),
    noCommandWith: ['--attach'],
  }),
  ltrace: wrapper('ltrace', {
    options:
      '-b -c -C -f -h -i -L -r -S -t -T -V --demangle --library,-l= --output,-o= --pid,-p= --user,-u= ' +
      '-a= -A= -D= -e= -F= -n= -s= -w= -x=',
    effects: traceOutput('ltrace'),
    noCommandWith: ['--pid'],
  }),
  'systemd-run': systemdRun(),
  unshare: wrapper('unshare', {
    options:
      '--mount,-m=? --uts,-u=? --ipc,-i=? --net,-n=? --pid,-p=? --user,-U=? --cgroup,-C=? --time,-T=? ' +
      '--fork,-f --map-root-user,-r --map-current-user,-c --map-auto --kill-child=? --mount-proc=? ' +
      '--mount-binfmt=? --propagation= --setgroups= --map-user= --map-group= --map-users= --map-groups= ' +
      '--root,-R= --wd,-w= --setuid,-S= --setgid,-G= --keep-caps --monotonic= --boottime= --load-interp,-l=',
    withoutCommand: [exec('unshare without a command runs a shell')],
  }),
  nsenter: wrapper('nsenter', {
    options:
      '--all,-a --target,-t= --mount,-m=? --uts,-u=? --ipc,-i=? --net,-n=? --pid,-p=? --cgroup,-C=? ' +
      '--user,-U=? --time,-T=? --setuid,-S= --setgid,-G= --preserve-credentials --root,-r=? --wd,-w=? ' +
      '--wdns,-W=? --env,-e --no-fork,-F --follow-context,-Z --user-parent --keep-caps',
    withoutCommand: [exec('nsenter without a command runs a shell')],
  }),
  // runit's chpst: BSD getopt, `-/ ROOT` chroots.
  chpst: wrapper('chpst', {
    options: '-v -P -0 -1 -2 -u= -U= -b= -e= -/= -n= -l= -L= -m= -d= -o= -p= -f= -c= -t=',
    abbreviate: false,
  }),
  setpriv: wrapper('setpriv', {
    options:
      '--dump,-d --list-caps,-L --clear-groups --keep-groups --init-groups --no-new-privs --reset-env ' +
      '--groups= --inh-caps= --ambient-caps= --bounding-set= --ruid= --euid= --rgid= --egid= --reuid= ' +
      '--regid= --securebits= --pdeathsig= --selinux-label= --apparmor-profile= --landlock-access= ' +
      '--landlock-rule= --seccomp-filter=',
    noCommandWith: ['--dump', '--list-caps'],
  }),
  openvt: wrapper('openvt', {
    options: '--console,-c= --exec,-e --force,-f --login,-l --user,-u --switch,-s --verbose,-v --wait,-w',
    withoutCommand: [exec('openvt without a command runs a shell')],
  }),
  // `logsave [-asv] LOGFILE CMD…`: appends or writes the command's output to LOGFILE.
  logsave: (argv) => {
    const inner = wrapper('logsave', { options: '-a -s -v', abbreviate: false, positionals: 1 })(argv);
    const file = argv.findIndex((a, i) => i > 0 && !a.value.startsWith('-'));
    const path = argv[file];
    return path === undefined || path.value === '-' ? inner : [write('logsave LOGFILE', path), ...inner];
  },
  // `newgrp [-] [GROUP]` starts a shell reading stdin.
  newgrp: () => [stdinProgram('newgrp starts a shell')],
};

/** Resource and identity properties that add no program of their own. */
const SAFE_UNIT_PROPERTIES = new Set([
  'CPUQuota',
  'CPUWeight',
  'MemoryMax',
  'MemoryHigh',
  'MemoryLimit',
  'IOWeight',
  'TasksMax',
  'Nice',
  'User',
  'Group',
  'RuntimeMaxSec',
  'TimeoutStopSec',
  'KillMode',
  'Type',
  'RemainAfterExit',
]);

/** systemd-run runs its command as a transient unit; unit properties may add commands of their own. */
function systemdRun(): ProgramAnalyser {
  const run = wrapper('systemd-run', {
    options:
      '--unit,-u= --property,-p= --description= --slice= --slice-inherit --scope --user --system --host,-H= ' +
      '--machine,-M= --remain-after-exit,-r --send-sighup --service-type= --uid= --gid= --nice= ' +
      '--working-directory= --same-dir,-d --setenv,-E= --pty,-t --pipe,-P --shell,-S --quiet,-q --wait ' +
      '--collect,-G --on-active= --on-boot= --on-startup= --on-unit-active= --on-unit-inactive= ' +
      '--on-calendar= --on-clock-change --on-timezone-change --path-property= --socket-property= ' +
      '--timer-property= --no-block --no-ask-password --verbose,-v --json= --expand-environment=',
    effects: (parsed) => {
      const found: Effect[] = [];
      for (const o of named(parsed, '--property', '--path-property', '--socket-property', '--timer-property')) {
        const name = o.value?.exact === true ? o.value.value.split('=')[0] : undefined;
        // Properties can add commands (ExecStartPre=, ExecStopPost=) or preload code (Environment=).
        if (name === undefined || !SAFE_UNIT_PROPERTIES.has(name))
          found.push(exec(`systemd-run -p ${name ?? 'property not known exactly'}`));
      }
      if (named(parsed, '--shell').length > 0) found.push(stdinProgram('systemd-run --shell'));
      return found;
    },
  });
  return run;
}
