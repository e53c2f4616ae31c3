/**
 * Programs that run a command as another user or in another root: sudo, sudoedit, doas, su,
 * runuser, sg, chroot. Their commands are checked like top-level commands; the forms that start
 * a shell reading stdin, or hand their words to a shell the policy cannot see, are reported so.
 */
import { baseName, exec, mayShift, opaque, runs, runsScript, stdinProgram, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import type { Parsed } from './getopt.js';
import { KNOWN_SHELLS } from './shells.js';
import type { Arg, Effect, ProgramAnalyser } from './types.js';
import { wrapper } from './wrapper.js';

const SUDO = options(
  '--askpass,-A --background,-b --bell,-B --close-from,-C= --chdir,-D= --preserve-env=? -E --edit,-e ' +
    '--group,-g= --set-home,-H --host= -h=? --login,-i --remove-timestamp,-K --reset-timestamp,-k --list,-l ' +
    '--non-interactive,-n --preserve-groups,-P --prompt,-p= --chroot,-R= --role,-r= --stdin,-S --shell,-s ' +
    '--type,-t= --command-timeout,-T= --other-user,-U= --user,-u= --version,-V --validate,-v --help ' +
    '--auth-type,-a= --login-class,-c= --no-update,-N',
);

const sudo: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, SUDO, { abbreviate: true });
  if (parsed.problem !== undefined) return [opaque(`sudo: ${parsed.problem}`)];
  const command = argv.slice(parsed.rest);
  // sudo reads `-h WORD` as a host or as help depending on its version.
  if (named(parsed, '-h').some((o) => o.value === undefined) && command.length > 0)
    return [opaque('sudo -h followed by words')];
  if (has(parsed, '--help', '--version')) return [];
  if (has(parsed, '--edit') || baseName(argv[0]?.value ?? '') === 'sudoedit') return editsFiles('sudoedit', command);
  if (has(parsed, '--shell', '--login')) {
    // sudo escapes the words for the shell but leaves `$` alone: read them as a script.
    if (command.length === 0) return [stdinProgram('sudo -s/-i without a command starts a shell')];
    return [runsScript('sudo -s/-i runs the words through a shell', parsed.rest, argv.length)];
  }
  return runs('sudo', command);
};

/** sudoedit copies each file, runs an editor on the copy and writes it back. */
function editsFiles(feature: string, files: readonly Arg[]): Effect[] {
  return [...files.map((f) => write(feature, f)), opaque(`${feature} runs an editor`)];
}

const DOAS = options('-L -n -s -C= -u=');

const doas: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, DOAS);
  if (parsed.problem !== undefined) return [opaque(`doas: ${parsed.problem}`)];
  // `-C config [CMD]` only checks the rule set; `-L` clears persisted logins.
  if (has(parsed, '-C', '-L')) return [];
  if (has(parsed, '-s')) return [stdinProgram('doas -s starts a shell')];
  return runs('doas', argv.slice(parsed.rest));
};

const SU_OPTIONS =
  '--command,-c= --session-command= --fast,-f --group,-g= --supp-group,-G= --login,-l ' +
  '--preserve-environment,-m,-p --pty,-P --shell,-s= --whitelist-environment,-w= --help,-h --version,-V';
const SU = options(SU_OPTIONS);
const RUNUSER = options(`${SU_OPTIONS} --user,-u=`);

/**
 * su and runuser read their options anywhere (GNU permutation): `su - postgres -c CMD`. The
 * command string of `-c` runs in the user's shell; operands after the user are arguments of
 * that shell (`su root script.sh` runs a script file).
 */
function switchUser(program: string): ProgramAnalyser {
  return (argv) => {
    const parsed = parse(argv, program === 'runuser' ? RUNUSER : SU, { abbreviate: true, permute: true });
    if (parsed.problem !== undefined) return [opaque(`${program}: ${parsed.problem}`)];
    if (has(parsed, '--help', '--version')) return [];
    const effects: Effect[] = [];
    for (const shell of named(parsed, '--shell')) {
      const name = shell.value?.exact === true ? shell.value.value : undefined;
      if (name === undefined || !KNOWN_SHELLS.has(baseName(name)))
        effects.push(opaque(`${program} -s with shell ${shell.value?.value ?? ''}`));
    }
    if (has(parsed, '--user')) return [...effects, ...commandOfUserOption(program, parsed, argv)];
    const commands = named(parsed, '--command', '--session-command');
    for (const c of commands) {
      if (c.valueIndex === undefined) effects.push(opaque(`${program} ${c.name}=… attached (write -c STR)`));
      else effects.push(runsScript(`${program} -c`, c.valueIndex, c.valueIndex + 1));
    }
    if (commands.length > 0) return effects;
    const operands = parsed.operands.filter((i, n) => !(n === 0 && argv[i]?.value === '-'));
    if (operands.length > 1) return [...effects, exec(`${program} passes arguments to the user's shell`)];
    return [...effects, stdinProgram(`${program} starts a shell`)];
  };
}

/** `runuser -u USER [--] CMD…` runs CMD directly, without a shell. */
function commandOfUserOption(program: string, parsed: Parsed, argv: readonly Arg[]): Effect[] {
  const first = parsed.operands[0];
  if (first === undefined) return [stdinProgram(`${program} -u without a command`)];
  // Without `--`, an option word after the command may be read as runuser's own.
  const late = parsed.options.some((o) => o.index > first && (parsed.dashdash < 0 || o.index < parsed.dashdash));
  if (late) return [opaque(`${program} -u: options after the command (use --)`)];
  if (has(parsed, '--command', '--session-command')) return [opaque(`${program} -u with -c`)];
  return runs(
    program,
    parsed.operands.map((i) => argv[i] as Arg),
  );
}

/** `sg [-] GROUP [-c] COMMAND`: the command runs through /bin/sh -c. */
const sg: ProgramAnalyser = (argv) => {
  let i = 1;
  if (argv[i]?.value === '-') i++;
  const group = argv[i];
  if (group === undefined) return [stdinProgram('sg starts a shell')];
  if (mayShift(group) || group.value.startsWith('-')) return [opaque(`sg: group word ${group.value}`)];
  i++;
  if (argv[i]?.value === '-c' && argv[i]?.exact === true) i++;
  if (i >= argv.length) return [stdinProgram('sg starts a shell')];
  return [runsScript('sg runs its command through sh -c', i, argv.length)];
};

export const PRIVILEGE: Record<string, ProgramAnalyser> = {
  sudo,
  sudoedit: sudo,
  doas,
  su: switchUser('su'),
  runuser: switchUser('runuser'),
  sg,
  // `chroot NEWROOT [CMD…]`; without a command it runs the user's shell.
  chroot: wrapper('chroot', {
    options: '--groups= --userspec= --skip-chdir',
    positionals: 1,
    withoutCommand: [exec('chroot without a command runs a shell')],
  }),
};
