/**
 * OpenSSH clients. `ssh [OPTS] HOST [OPTS] CMD…` has the remote shell join the command words
 * and run them as a script; options and configuration that run local commands
 * (`ProxyCommand`, `LocalCommand`, `KnownHostsCommand`, `-F` files, PKCS#11 and security-key
 * providers) are exec. OpenSSH uses BSD getopt (no permutation), and ssh reads options once
 * more right after the host. scp and sftp share the `-o` handling; sftp reads commands
 * (including `!command`) from stdin or a batch file.
 */
import { exec, opaque, runsScript, stdinProgram, write } from './args.js';
import { has, named, options, parse } from './getopt.js';
import type { Parsed } from './getopt.js';
import { isLocalPath } from './options-table.js';
import type { Effect, ProgramAnalyser } from './types.js';

/** `-o` keys that run a local program or read more configuration. */
const EXEC_KEYS = new Set([
  'proxycommand',
  'localcommand',
  'permitlocalcommand',
  'knownhostscommand',
  'remotecommand',
  'include',
  'match',
  'pkcs11provider',
  'securitykeyprovider',
  'xauthlocation',
]);
/** `-o` keys known to run nothing; any other key is opaque. */
const SAFE_KEYS = new Set(
  (
    'connecttimeout batchmode stricthostkeychecking serveraliveinterval serveralivecountmax port user ' +
    'loglevel compression connectionattempts hostkeyalgorithms pubkeyauthentication passwordauthentication ' +
    'preferredauthentications identitiesonly identityfile forwardagent forwardx11 addressfamily tcpkeepalive ' +
    'requesttty ciphers macs kexalgorithms hostname checkhostip numberofpasswordprompts exitonforwardfailure ' +
    'clearallforwardings visualhostkey hashknownhosts escapechar gssapiauthentication kbdinteractiveauthentication ' +
    'controlmaster controlpath controlpersist proxyjump updatehostkeys stdinnull sessiontype loglevel ' +
    'globalknownhostsfile hostkeyalias rekeylimit sendenv setenv canonicalizehostname bindaddress'
  ).split(' '),
);
const WRITE_KEYS = new Set(['userknownhostsfile']);

const SSH = options(
  '-4 -6 -A -a -C -f -G -g -K -k -M -N -n -q -s -T -t -V -v -X -x -Y -y -B= -b= -c= -D= -E= -e= -F= -I= ' +
    '-i= -J= -L= -l= -m= -O= -o= -p= -Q= -R= -S= -W= -w= -P=',
);
const SCP = options('-3 -4 -6 -A -B -C -O -p -q -R -r -s -T -v -c= -D= -F= -i= -J= -l= -o= -P= -S= -X=');
const SFTP = options('-4 -6 -A -a -C -f -N -p -q -R= -r -v -B= -b= -c= -D= -F= -i= -J= -l= -o= -P= -S= -s= -X=');

/** Effects shared by the OpenSSH clients' options. */
function clientOptions(program: string, parsed: Parsed): Effect[] {
  const effects: Effect[] = [];
  for (const o of named(parsed, '-o')) {
    if (o.value === undefined || !o.value.exact) {
      effects.push(opaque(`${program} -o value not known exactly`));
      continue;
    }
    const key = (o.value.value.trim().split(/[\s=]/, 1)[0] ?? '').toLowerCase();
    if (EXEC_KEYS.has(key)) effects.push(exec(`${program} -o ${key}`));
    else if (WRITE_KEYS.has(key)) effects.push(write(`${program} -o ${key}`));
    else if (!SAFE_KEYS.has(key)) effects.push(opaque(`${program} -o ${key}`));
  }
  for (const o of named(parsed, '-F')) {
    if (!(o.value?.exact === true && (o.value.value === '/dev/null' || o.value.value === 'none')))
      effects.push(exec(`${program} -F config file may run commands`));
  }
  if (has(parsed, '-I')) effects.push(exec(`${program} -I loads a PKCS#11 library`));
  for (const o of named(parsed, '-E')) effects.push(write(`${program} -E log file`, o.value));
  return effects;
}

const ssh: ProgramAnalyser = (argv) => {
  const before = parse(argv, SSH);
  if (before.problem !== undefined) return [opaque(`ssh: ${before.problem}`)];
  const host = before.rest;
  if (host >= argv.length) return has(before, '-V', '-G') ? [] : clientOptions('ssh', before);
  // OpenSSH parses options again right after the host, unless `--` ended them.
  const after = before.dashdash >= 0 ? undefined : parse(argv, SSH, { start: host + 1 });
  if (after?.problem !== undefined) return [opaque(`ssh: ${after.problem}`)];
  const all: Parsed = { ...before, options: [...before.options, ...(after?.options ?? [])] };
  if (has(all, '-V', '-G')) return [];
  const effects = clientOptions('ssh', all);
  const command = after?.rest ?? host + 1;
  if (command < argv.length) effects.push(runsScript('ssh remote command', command, argv.length));
  else if (!has(all, '-N', '-W')) effects.push(stdinProgram('ssh without a command starts a remote shell'));
  return effects;
};

const scp: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, SCP);
  if (parsed.problem !== undefined) return [opaque(`scp: ${parsed.problem}`)];
  const effects = clientOptions('scp', parsed);
  if (has(parsed, '-S')) effects.push(exec('scp -S runs a program as ssh'));
  if (has(parsed, '-D')) effects.push(exec('scp -D runs an sftp server program'));
  const operands = parsed.operands.map((i) => argv[i]!);
  const destination = operands.at(-1);
  if (
    operands.length >= 2 &&
    destination !== undefined &&
    isLocalPath(destination) &&
    !destination.value.startsWith('scp://')
  )
    effects.push(write('scp destination', destination));
  return effects;
};

const sftp: ProgramAnalyser = (argv) => {
  const parsed = parse(argv, SFTP);
  if (parsed.problem !== undefined) return [opaque(`sftp: ${parsed.problem}`)];
  const effects = clientOptions('sftp', parsed);
  if (has(parsed, '-S')) effects.push(exec('sftp -S runs a program as ssh'));
  if (has(parsed, '-D')) effects.push(exec('sftp -D runs an sftp server program'));
  const batch = named(parsed, '-b').at(-1)?.value;
  if (batch?.exact === true && batch.value !== '-') effects.push(exec('sftp -b batch file may run local commands'));
  else effects.push(stdinProgram('sftp reads commands, including !command, from stdin'));
  return effects;
};

export const REMOTE: Record<string, ProgramAnalyser> = { ssh, scp, sftp };
