/**
 * Remote shells whose every exec and every write is recorded, for the policy oracle
 * (test/integration/policy-oracle.test.ts): what the remote shell really did, to compare with
 * what the policy decided.
 *
 * Two unprivileged accounts, `mcp-ssh-dash` and `mcp-ssh-bash`, are created on first use (root
 * only). Their login shell is a small wrapper script (WRAPPER_DIR/<shell>-traced): sshd runs
 * `<wrapper> -c "<command>"`, and the wrapper runs
 *   timeout -k 2 20 strace -f -qq -y ... -o TRACE_DIR/<account>/<id>.trace -- /bin/dash "$@"
 * The client names the run with the environment variable ORACLE_TRACE_ID (sshd accepts it via
 * AcceptEnv; the wrapper accepts only [A-Za-z0-9_-] and removes it from the environment before
 * the shell starts), so the test reads back exactly that run's trace; without it the wrapper
 * falls back to its pid and the test reports the trace as missing. `timeout` (not traced)
 * bounds a run that hangs: SIGTERM to strace and its whole process group, SIGKILL 2 s later.
 *
 * The homes are root-owned and read-only for the accounts (fixture files, empty dotfiles, a
 * small git repository), so start-up is quiet and deterministic and a command cannot change
 * the environment of the next one. A failed write attempt is recorded like a successful one:
 * the shell tried.
 *
 * strace -y prints the path of every fd argument, AT_FDCWD included (`AT_FDCWD</home/x>`), so
 * relative paths of the *at calls resolve against the real cwd; for the old calls (mkdir,
 * rename, unlink, ...) the cwd is tracked per pid from chdir/fchdir and those annotations, a
 * child inheriting its parent's at fork.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { posix } from 'node:path';
import { Client, type ClientChannel } from 'ssh2';
import type { TestSshd } from './sshd.js';

export type ShellName = 'dash' | 'bash';
export const SHELLS: readonly ShellName[] = ['dash', 'bash'];
export const TRACED_ACCOUNTS: Record<ShellName, string> = { dash: 'mcp-ssh-dash', bash: 'mcp-ssh-bash' };
export const TRACE_ENV = 'ORACLE_TRACE_ID';
const SHELL_PATHS: Record<ShellName, string> = { dash: '/bin/dash', bash: '/bin/bash' };
const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));
const WRAPPER_DIR = '/usr/local/libexec/mcp-ssh-oracle';
const TRACE_ROOT = '/var/tmp/mcp-ssh-oracle';
/** Seconds a remote run may take before the wrapper's `timeout` ends it. */
const REMOTE_TIMEOUT_S = 20;
/** The scratch directory every account may write to (the policy may admit writes under it). */
export const SCRATCH_DIR = '/tmp/oracle-scratch';

/**
 * Traced syscalls: the brief's set, plus the *at and rmdir/mknod variants of the same
 * operations, and chdir/fchdir/fork-family calls used only to track each process's cwd.
 */
const TRACED_SYSCALLS = [
  'execve',
  'execveat',
  'open',
  'openat',
  'openat2',
  'creat',
  'rename',
  'renameat',
  'renameat2',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
  'truncate',
  'mkdir',
  'mkdirat',
  'mknod',
  'mknodat',
  'rmdir',
  'unlink',
  'unlinkat',
  'chdir',
  'fchdir',
  'clone',
  'clone3',
  'fork',
  'vfork',
];

/** Why the traced shells cannot run here, or undefined when they can. */
export function tracingUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (the oracle creates two test accounts)';
  if (STRACE === undefined) return 'strace is not installed (apt-get install strace)';
  for (const shell of Object.values(SHELL_PATHS)) if (!existsSync(shell)) return `${shell} is missing`;
  // ptrace may be forbidden (container seccomp, Yama ptrace_scope=3): probe it.
  const probe = spawnSync(STRACE, ['-f', '-qq', '-e', 'trace=execve', '-o', '/dev/null', '--', '/bin/true'], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) return `strace cannot trace here (ptrace refused?): ${(probe.stderr || '').trim()}`;
  return undefined;
}

export interface TracedAccount {
  shell: ShellName;
  account: string;
  home: string;
  traceDir: string;
}

function wrapperScript(shell: ShellName, traceDir: string): string {
  return [
    '#!/bin/sh',
    `# Login shell of ${TRACED_ACCOUNTS[shell]} (policy oracle tests): runs ${SHELL_PATHS[shell]} under strace,`,
    '# one trace file per run, named by the client through ORACLE_TRACE_ID.',
    `id=\${${TRACE_ENV}:-}`,
    'case $id in',
    "  ''|*[!A-Za-z0-9_-]*) id=pid-$$ ;;",
    'esac',
    `unset ${TRACE_ENV}`,
    `exec /usr/bin/timeout -k 2 ${REMOTE_TIMEOUT_S} ${STRACE} -f -qq -y -s 65535 -e signal=none \\`,
    `  -e trace=${TRACED_SYSCALLS.join(',')} \\`,
    `  -o ${traceDir}/"$id".trace -- ${SHELL_PATHS[shell]} "$@"`,
    '',
  ].join('\n');
}

function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

const NOTES = ['alpha beta', 'gamma delta', 'alpha omega', 'x y z', 'zeta', 'alpha beta', ''].join('\n');

/** Root-owned home with fixture files; the account can read, not write. */
function buildHome(home: string): void {
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true, mode: 0o755 });
  chmodSync(home, 0o755);
  for (const f of ['.bashrc', '.profile', '.bash_profile', '.bash_login', '.bash_logout', '.hushlogin']) {
    writeFileSync(join(home, f), '', { mode: 0o644 });
  }
  // The repository below is owned by root: without safe.directory git refuses to read it.
  writeFileSync(join(home, '.gitconfig'), '[safe]\n\tdirectory = *\n[core]\n\tpager = cat\n', { mode: 0o644 });
  writeFileSync(join(home, 'notes.txt'), NOTES, { mode: 0o644 });
  writeFileSync(join(home, 'data.csv'), 'id,name\n2,b\n1,a\n3,c\n', { mode: 0o644 });
  // Large enough that `sort -S 1 -T /tmp big.txt` spills to temporary files.
  const big = Array.from({ length: 4000 }, (_, i) => `line ${(i * 7919) % 4000} alpha`).join('\n');
  writeFileSync(join(home, 'big.txt'), big + '\n', { mode: 0o644 });
  mkdirSync(join(home, 'sub'), { mode: 0o755 });
  writeFileSync(join(home, 'sub', 'a.txt'), 'alpha in sub\n', { mode: 0o644 });
  writeFileSync(join(home, 'sub', 'b.log'), 'log line\n', { mode: 0o644 });
  execFileSync('tar', ['-cf', 'a.tar', 'sub'], { cwd: home, stdio: 'ignore' });
  const git = (...args: string[]): void => {
    execFileSync('git', args, {
      cwd: home,
      stdio: 'ignore',
      env: {
        ...process.env,
        HOME: home,
        GIT_AUTHOR_NAME: 'oracle',
        GIT_AUTHOR_EMAIL: 'oracle@example.invalid',
        GIT_COMMITTER_NAME: 'oracle',
        GIT_COMMITTER_EMAIL: 'oracle@example.invalid',
        GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
        GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
      },
    });
  };
  git('init', '-q');
  git('add', 'notes.txt', 'data.csv', 'sub');
  git('commit', '-q', '-m', 'first');
  writeFileSync(join(home, 'notes.txt'), NOTES + 'more\n', { mode: 0o644 });
  git('commit', '-q', '-am', 'second: it\'s "quoted"');
  chownRecursive(home, 0, 0);
}

function join(...parts: string[]): string {
  return posix.join(...parts);
}

function chownRecursive(path: string, uid: number, gid: number): void {
  execFileSync('chown', ['-R', `${uid}:${gid}`, path], { stdio: 'ignore' });
}

function ensureAccount(shell: ShellName, wrapper: string, home: string): void {
  const account = TRACED_ACCOUNTS[shell];
  try {
    execFileSync('id', ['-u', account], { stdio: 'ignore' });
    execFileSync('usermod', ['--shell', wrapper, '--home', home, account], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', wrapper, account], {
      stdio: 'ignore',
    });
  }
  // useradd locks the account ('!'); sshd refuses locked accounts even for keys. '*' = no password.
  execFileSync('usermod', ['--password', '*', account], { stdio: 'ignore' });
}

/** Creates (or refreshes) the two accounts, their wrappers, homes and trace directories. Root only. */
export function prepareTracedAccounts(): Record<ShellName, TracedAccount> {
  const why = tracingUnavailable();
  if (why !== undefined) throw new Error(`traced shells unavailable: ${why}`);
  mkdirSync(WRAPPER_DIR, { recursive: true, mode: 0o755 });
  mkdirSync(TRACE_ROOT, { recursive: true, mode: 0o755 });
  chmodSync(TRACE_ROOT, 0o755);
  mkdirSync(SCRATCH_DIR, { recursive: true });
  // Not sticky: with fs.protected_regular a sticky world-writable directory stops one account
  // from opening a file the other created there, which would turn admitted writes into failures.
  chmodSync(SCRATCH_DIR, 0o777);
  const out = {} as Record<ShellName, TracedAccount>;
  for (const shell of SHELLS) {
    const account = TRACED_ACCOUNTS[shell];
    const home = `/home/${account}`;
    const traceDir = `${TRACE_ROOT}/${account}`;
    const wrapper = `${WRAPPER_DIR}/${shell}-traced`;
    writeAtomically(wrapper, wrapperScript(shell, traceDir), 0o755);
    ensureAccount(shell, wrapper, home);
    buildHome(home);
    const uid = Number(execFileSync('id', ['-u', account], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', account], { encoding: 'utf8' }).trim());
    rmSync(traceDir, { recursive: true, force: true });
    mkdirSync(traceDir, { mode: 0o700 });
    chownSync(traceDir, uid, gid);
    out[shell] = { shell, account, home, traceDir };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Trace parsing

export interface ExecEvent {
  pid: number;
  /** The path passed to execve (absolute for PATH lookups: one event per directory tried). */
  path: string;
  argv: string[];
  /** The execve succeeded; false for a failed attempt (ENOENT of a PATH lookup, EACCES, ...). */
  ok: boolean;
}

export interface WriteEvent {
  pid: number;
  /** Program (basename of the last successful execve) of the process that wrote. */
  program: string;
  syscall: string;
  /** Absolute, lexically normalised (not symlink-resolved). */
  path: string;
  ok: boolean;
  /** Set when the write is one the oracle ignores, with the reason. */
  exempt?: string;
}

export interface Trace {
  execs: ExecEvent[];
  writes: WriteEvent[];
  /** Lines the parser did not understand (should stay empty; shown on failures). */
  unparsed: string[];
}

type Arg = { kind: 'str'; value: string } | { kind: 'fd'; raw: string; path?: string } | { kind: 'other'; raw: string };

interface Call {
  pid: number;
  name: string;
  args: Arg[];
  ret: number;
}

/** Decodes a C-escaped string body (strace's quoting) to text; bytes are read as UTF-8. */
function unescapeC(body: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body[++i] ?? '';
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, e: 27 };
    if (next in simple) bytes.push(simple[next] as number);
    else if (next === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1))?.[0] ?? '';
      bytes.push(parseInt(hex || '0', 16));
      i += hex.length;
    } else if (/[0-7]/.test(next)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))?.[0] ?? '0';
      bytes.push(parseInt(oct, 8));
      i += oct.length - 1;
    } else bytes.push(...Buffer.from(next, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Reads a "..." string starting at text[i] === '"'; returns the decoded value and the index after it. */
function readQuoted(text: string, i: number): [string, number] {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  const value = unescapeC(text.slice(i + 1, j));
  j++;
  if (text.startsWith('...', j)) j += 3; // truncated string (should not happen with -s 65535)
  return [value, j];
}

/** Reads `<path>` (strace -y) at text[i] === '<'. */
function readAngle(text: string, i: number): [string, number] {
  let j = i + 1;
  while (j < text.length && text[j] !== '>') j += text[j] === '\\' ? 2 : 1;
  return [unescapeC(text.slice(i + 1, j)), j + 1];
}

/** Splits the argument list of a syscall line (text after the opening parenthesis). */
function parseArgs(text: string): { args: Arg[]; rest: string } {
  const args: Arg[] = [];
  let i = 0;
  let depth = 0;
  let raw = '';
  let str: string | undefined;
  let strRaw = '';
  let fdPath: string | undefined;
  const flush = (): void => {
    const trimmed = raw.trim();
    if (str !== undefined && trimmed === strRaw) args.push({ kind: 'str', value: str });
    else if (fdPath !== undefined) args.push({ kind: 'fd', raw: trimmed, path: fdPath });
    else if (trimmed !== '' || args.length > 0) args.push({ kind: 'other', raw: trimmed });
    raw = '';
    str = undefined;
    fdPath = undefined;
  };
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '"') {
      const [value, j] = readQuoted(text, i);
      if (depth === 0 && raw.trim() === '') {
        str = value;
        strRaw = text.slice(i, j);
      }
      raw += text.slice(i, j);
      i = j;
      continue;
    }
    if (ch === '<' && depth === 0 && /(?:\d|AT_FDCWD)$/.test(raw)) {
      const [path, j] = readAngle(text, i);
      fdPath = path;
      i = j;
      continue;
    }
    if (ch === '[' || ch === '{' || ch === '(') depth++;
    if (ch === ']' || ch === '}') depth--;
    if (ch === ')') {
      if (depth === 0) {
        flush();
        return { args, rest: text.slice(i + 1) };
      }
      depth--;
    }
    if (ch === ',' && depth === 0) {
      flush();
      i++;
      continue;
    }
    raw += ch;
    i++;
  }
  flush();
  return { args, rest: '' };
}

/** The argv array of an execve line: `["ls", "-l"]`. */
function parseArgv(raw: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '"') {
      const [value, j] = readQuoted(raw, i);
      out.push(value);
      i = j - 1;
    }
  }
  return out;
}

const LINE = /^(\d+)\s+(.*)$/;

/** Joins `<unfinished ...>` / `<... name resumed>` pairs and returns complete calls in order. */
function calls(text: string, unparsed: string[]): Array<Call & { argText: string }> {
  const pending = new Map<number, string>();
  const out: Array<Call & { argText: string }> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      unparsed.push(line);
      continue;
    }
    const pid = Number(m[1]);
    let body = m[2] as string;
    if (body.startsWith('+++') || body.startsWith('---')) continue;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(body);
    if (resumed) {
      const head = pending.get(pid);
      pending.delete(pid);
      if (head === undefined) {
        unparsed.push(line);
        continue;
      }
      body = head + (resumed[2] as string);
    } else if (body.endsWith('<unfinished ...>')) {
      pending.set(pid, body.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const call = /^(\w+)\((.*)$/s.exec(body);
    if (!call) {
      unparsed.push(line);
      continue;
    }
    const { args, rest } = parseArgs(call[2] as string);
    const ret = /=\s+(-?\d+|\?)/.exec(rest);
    if (!ret) {
      // `exit_group` style lines never return; anything else is a parser gap.
      unparsed.push(line);
      continue;
    }
    out.push({
      pid,
      name: call[1] as string,
      args,
      ret: ret[1] === '?' ? 0 : Number(ret[1]),
      argText: call[2] as string,
    });
  }
  return out;
}

const WRITE_FLAGS = /\b(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND)\b/;

/**
 * Writes the oracle ignores: the terminal and standard streams, and a program's own private
 * temporary files. The temp exemption is narrow on purpose: the file must be created with
 * O_EXCL (so it is new, not an existing file being clobbered) by the named program, match that
 * program's mkstemp template in /tmp, and be unlinked later in the same run. That covers
 * sort's spill files (`sort -S 1 -T /tmp`, /tmp/sortXXXXXX) and bash's here-doc files
 * (/tmp/sh-thd.XXXXXX, for here-docs larger than a pipe), which are invisible to the caller
 * and gone when the command ends; a `sort -o /tmp/sortABCDEF` is not exempt (no O_EXCL, and
 * not removed).
 */
const PRIVATE_TEMPS: Array<{ program: RegExp; path: RegExp; why: string }> = [
  { program: /^sort$/, path: /^\/tmp\/sort[A-Za-z0-9]{6}$/, why: "sort's private spill file" },
  { program: /^(bash|sh)$/, path: /^\/tmp\/sh-thd\.[A-Za-z0-9]+$/, why: "bash's private here-doc file" },
];

function alwaysExempt(path: string): string | undefined {
  // /dev/full: GNU tools reopen a closed standard descriptor on it (gnulib stdopen); writes fail.
  if (path === '/dev/null' || path === '/dev/tty' || path === '/dev/full') return path;
  if (/^\/dev\/std(in|out|err)$/.test(path)) return 'standard stream';
  if (/^\/dev\/fd\/\d+$/.test(path) || /^\/proc\/self\/fd\/\d+$/.test(path)) return 'inherited fd';
  return undefined;
}

/**
 * Parses an strace -f -y output file into execs and writes. The first execve (strace starting
 * the shell itself) is dropped: the wrapper's own exec is not part of the command.
 */
export function parseTrace(text: string, home: string): Trace {
  const unparsed: string[] = [];
  const all = calls(text, unparsed);
  const parentOf = new Map<number, number>();
  for (const c of all) {
    if (['clone', 'clone3', 'fork', 'vfork'].includes(c.name) && c.ret > 0) parentOf.set(c.ret, c.pid);
  }
  const cwd = new Map<number, string>();
  const program = new Map<number, string>();
  const rootPid = all[0]?.pid;
  const stateOf = (pid: number): void => {
    if (cwd.has(pid)) return;
    const parent = parentOf.get(pid);
    if (parent !== undefined) stateOf(parent);
    cwd.set(pid, (parent !== undefined ? cwd.get(parent) : undefined) ?? home);
    program.set(pid, (parent !== undefined ? program.get(parent) : undefined) ?? '?');
  };
  const execs: ExecEvent[] = [];
  const writes: WriteEvent[] = [];
  let skippedShell = false;

  const resolveAt = (pid: number, dir: Arg | undefined, path: string): string => {
    if (path.startsWith('/')) return posix.normalize(path);
    const base = dir?.kind === 'fd' && dir.path !== undefined ? dir.path : (cwd.get(pid) ?? home);
    return posix.resolve(base, path);
  };
  const str = (a: Arg | undefined): string | undefined => (a?.kind === 'str' ? a.value : undefined);
  const write = (c: Call, path: string | undefined, dir?: Arg): void => {
    if (path === undefined) return;
    writes.push({
      pid: c.pid,
      program: program.get(c.pid) ?? '?',
      syscall: c.name,
      path: resolveAt(c.pid, dir, path),
      ok: c.ret >= 0,
    });
  };

  for (const c of all) {
    stateOf(c.pid);
    // Every fd annotation of AT_FDCWD is the process's cwd at that moment.
    for (const a of c.args) if (a.kind === 'fd' && a.raw.startsWith('AT_FDCWD') && a.path) cwd.set(c.pid, a.path);
    const [a0, a1, a2, a3] = c.args;
    switch (c.name) {
      case 'execve':
      case 'execveat': {
        const path = c.name === 'execve' ? str(a0) : str(a1);
        const argvRaw = c.name === 'execve' ? a1 : a2;
        if (path === undefined) break;
        if (!skippedShell && c.pid === rootPid) {
          skippedShell = true;
          program.set(c.pid, posix.basename(path));
          break;
        }
        const ok = c.ret === 0;
        execs.push({
          pid: c.pid,
          path: c.name === 'execveat' ? resolveAt(c.pid, a0, path) : path,
          argv: argvRaw?.kind === 'other' ? parseArgv(argvRaw.raw) : [],
          ok,
        });
        if (ok) program.set(c.pid, posix.basename(path));
        break;
      }
      case 'chdir':
        if (c.ret === 0 && str(a0) !== undefined) cwd.set(c.pid, resolveAt(c.pid, undefined, str(a0) as string));
        break;
      case 'fchdir':
        if (c.ret === 0 && a0?.kind === 'fd' && a0.path) cwd.set(c.pid, a0.path);
        break;
      case 'open':
        if (a1 && WRITE_FLAGS.test(a1.kind === 'other' ? a1.raw : '')) write(c, str(a0));
        break;
      case 'openat':
      case 'openat2': {
        const flags = c.name === 'openat' ? (a2?.kind === 'other' ? a2.raw : '') : c.argText;
        if (WRITE_FLAGS.test(flags)) write(c, str(a1), a0);
        break;
      }
      case 'creat':
      case 'truncate':
      case 'mkdir':
      case 'mknod':
      case 'rmdir':
      case 'unlink':
        write(c, str(a0));
        break;
      case 'mkdirat':
      case 'mknodat':
      case 'unlinkat':
        write(c, str(a1), a0);
        break;
      case 'rename':
      case 'link':
        if (c.name === 'rename') write(c, str(a0));
        write(c, str(a1));
        break;
      case 'symlink':
        write(c, str(a1));
        break;
      case 'symlinkat':
        write(c, str(a2), a1);
        break;
      case 'renameat':
      case 'renameat2':
      case 'linkat':
        if (c.name !== 'linkat') write(c, str(a1), a0);
        write(c, str(a3), a2);
        break;
      default:
        break;
    }
  }

  // Exemptions, decided with the whole run in view (the temp rule needs the later unlink).
  const unlinkedBy = new Set(
    writes.filter((w) => w.syscall.startsWith('unlink') && w.ok).map((w) => `${w.pid}\0${w.path}`),
  );
  const exclusive = new Set<string>();
  for (const c of all) {
    if (c.name !== 'openat' && c.name !== 'open') continue;
    const flags = c.args[c.name === 'openat' ? 2 : 1];
    if (flags?.kind === 'other' && /\bO_EXCL\b/.test(flags.raw) && /\bO_CREAT\b/.test(flags.raw)) {
      const p = str(c.args[c.name === 'openat' ? 1 : 0]);
      if (p !== undefined)
        exclusive.add(`${c.pid}\0${resolveAt(c.pid, c.name === 'openat' ? c.args[0] : undefined, p)}`);
    }
  }
  for (const w of writes) {
    w.exempt = alwaysExempt(w.path);
    if (w.exempt !== undefined) continue;
    const key = `${w.pid}\0${w.path}`;
    const temp = PRIVATE_TEMPS.find((t) => t.program.test(w.program) && t.path.test(w.path));
    if (temp && unlinkedBy.has(key) && (exclusive.has(key) || w.syscall.startsWith('unlink'))) w.exempt = temp.why;
  }
  return { execs, writes, unparsed };
}

// ---------------------------------------------------------------------------------------------
// Running commands

export interface TracedRun {
  shell: ShellName;
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  trace: Trace;
  /** The wrapper's `timeout` ended the run (exit 124/137) or the client gave up. */
  timedOut: boolean;
  ms: number;
}

const MAX_CAPTURE = 64 * 1024;

/** One ssh2 connection to one traced account; runs commands one after another. */
export class TracedShell {
  private seq = 0;

  private constructor(
    readonly account: TracedAccount,
    private readonly client: Client,
  ) {}

  static async open(sshd: TestSshd, account: TracedAccount): Promise<TracedShell> {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: sshd.address,
        port: sshd.port,
        username: account.account,
        privateKey: readFileSync(sshd.userKeys.ed25519),
        hostVerifier: (key: Buffer) => sshd.hostKeyPub.split(/\s+/)[1] === key.toString('base64'),
        readyTimeout: 10_000,
      });
    });
    return new TracedShell(account, client);
  }

  run(command: string, timeoutMs = (REMOTE_TIMEOUT_S + 5) * 1000): Promise<TracedRun> {
    const id = `r${process.pid}-${++this.seq}`;
    const tracePath = `${this.account.traceDir}/${id}.trace`;
    const started = Date.now();
    return new Promise<TracedRun>((resolve, reject) => {
      this.client.exec(command, { env: { [TRACE_ENV]: id } }, (err: Error | undefined, channel: ClientChannel) => {
        if (err) return reject(err);
        let stdout = '';
        let stderr = '';
        let exitCode: number | undefined;
        let signal: string | undefined;
        let clientTimeout = false;
        const timer = setTimeout(() => {
          clientTimeout = true;
          channel.close();
        }, timeoutMs);
        channel.on('data', (d: Buffer) => {
          if (stdout.length < MAX_CAPTURE) stdout += d.toString('utf8');
        });
        channel.stderr.on('data', (d: Buffer) => {
          if (stderr.length < MAX_CAPTURE) stderr += d.toString('utf8');
        });
        channel.on('exit', (code: number | null, sig?: string) => {
          exitCode = code ?? undefined;
          signal = sig ?? undefined;
        });
        channel.on('close', () => {
          clearTimeout(timer);
          let text: string;
          try {
            text = readFileSync(tracePath, 'utf8');
            unlinkSync(tracePath);
          } catch (e) {
            return reject(
              new Error(
                `no trace for ${this.account.account} run ${id} at ${tracePath} (is ${TRACE_ENV} accepted by sshd?): ${String(e)}; stderr: ${stderr}`,
              ),
            );
          }
          resolve({
            shell: this.account.shell,
            command,
            exitCode,
            signal,
            stdout,
            stderr,
            trace: parseTrace(text, this.account.home),
            timedOut: clientTimeout || exitCode === 124 || exitCode === 137,
            ms: Date.now() - started,
          });
        });
        channel.end();
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle's comparison

/** What the oracle reads from a policy decision (validated at run time by the test). */
export interface AdmittedEffects {
  programs: readonly string[];
  writes: readonly string[];
}

export interface Violation {
  kind: 'exec' | 'write';
  detail: string;
}

/** `~` and `~/x` resolved to home, relative paths against home (the shell's start directory), normalised. */
export function resolveAdmittedPath(path: string, home: string): string {
  let p = path;
  if (p === '~') p = home;
  else if (p.startsWith('~/')) p = home + p.slice(1);
  return posix.resolve(home, p);
}

/**
 * What ran but was not admitted: an exec (successful or attempted) whose basename is not the
 * basename of an admitted program, a write (attempted or done, not exempt) to a path not
 * admitted.
 */
export function violations(admitted: AdmittedEffects, trace: Trace, home: string): Violation[] {
  const names = new Set(admitted.programs.map((p) => posix.basename(p)));
  const paths = new Set(admitted.writes.map((w) => resolveAdmittedPath(w, home)));
  const out: Violation[] = [];
  const seenExec = new Set<string>();
  // One report per program; a successful exec (after failed PATH lookups) is the one shown.
  const execs = [...trace.execs.filter((e) => e.ok), ...trace.execs.filter((e) => !e.ok)];
  for (const e of execs) {
    const base = posix.basename(e.path);
    if (names.has(base) || seenExec.has(base)) continue;
    seenExec.add(base);
    out.push({
      kind: 'exec',
      detail: `${e.ok ? 'executed' : 'tried to execute'} ${e.path} ${JSON.stringify(e.argv)} (pid ${e.pid})`,
    });
  }
  for (const w of trace.writes) {
    if (w.exempt !== undefined || paths.has(w.path)) continue;
    out.push({
      kind: 'write',
      detail: `${w.program} ${w.ok ? 'wrote' : 'tried to write'} ${w.path} (${w.syscall}, pid ${w.pid})`,
    });
  }
  return out;
}
