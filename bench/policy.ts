/**
 * Benchmark 6 — the policy decision, `PolicyEngine.decide()`, before and after the engine
 * rewrite, in one process and one run:
 *
 * - "before" is the engine at git revision BEFORE (default a85fc3e, `--before REV`): its
 *   src/policy/*.ts and src/config/schema.ts, and every file they import, are extracted with
 *   `git show` into a temporary directory under .cache/ (gitignored; mirrors the src/ layout so
 *   relative imports resolve, and node_modules resolves upward to the repository's) and loaded
 *   from there; the directory is removed once loaded (`--keep-before` keeps it);
 * - "after" is the engine in the working tree (src/policy/engine.ts, src/config/schema.ts), or
 *   with `--after REV` that revision, extracted the same way (`--after HEAD`: the engine as
 *   committed, while the working tree is mid-edit).
 * Both are loaded through tsx, so both run the same kind of transpiled code. Either one that
 * cannot be loaded (no git history, a shallow clone, a missing file, a working tree mid-edit)
 * is reported as "not measured (reason)" (and in the results' `unmeasured`, lib/unmeasured.ts),
 * and the other is still measured.
 *
 * Workload: a realistic read-only policy and a corpus of typical operations commands (pipes,
 * `&&` chains), a few long ones (a 4 KiB command, a 30-stage pipeline) and denied ones. After
 * a warm-up, ROUNDS passes over the corpus; in every pass each engine (the order alternating)
 * decides every command once, each call timed alone with process.hrtime.bigint(), so the two
 * engines share the machine's drift and no command is timed back-to-back with itself. Then
 * adversarial inputs (64 KiB of quotes, 10,000 `;` separators, deeply nested `$(...)`, ...),
 * each at 1/64, 1/16, 1/4 and the full size, to show the time is bounded and how it grows.
 *
 * Targets (for the rewritten engine; checked for both): p50 ≤ 100 µs for a typical command
 * once warm, and no single synchronous decide() call over 1 ms.
 *
 *   npx tsx bench/policy.ts [--rounds 300] [--warmup 30] [--before a85fc3e] [--after REV] [--keep-before]
 *   npm run bench -- policy [--rounds 300]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  REPO_ROOT,
  markdownTable,
  numberArg,
  printTargets,
  round,
  summarize,
  target,
  writeResults,
  type Summary,
  type TargetCheck,
} from './lib/kit.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const ROUNDS = numberArg('rounds', 300);
const WARMUP = numberArg('warmup', 30);
const BEFORE_REV = argValue('before') ?? 'a85fc3e';
/** `--after REV` measures that revision, extracted the same way, instead of the working tree. */
const AFTER_REV = argValue('after');
const KEEP_EXTRACTED = process.argv.includes('--keep-before');
/** Escalation of each adversarial input: fractions of its full size. */
const ADVERSARIAL_SCALES = [1 / 64, 1 / 16, 1 / 4, 1];
/** Timed calls per adversarial input and size (fewer when one call is slow). */
const ADVERSARIAL_CALLS = 30;
/** Wall-clock budget per adversarial input and size. */
const ADVERSARIAL_BUDGET_MS = 2000;
const TYPICAL_P50_LIMIT_US = 100;
const SYNC_STEP_LIMIT_US = 1000;
const TARGET = { alias: 'web-1', tags: ['web', 'prod'] };

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v !== undefined && !v.startsWith('--') ? v : undefined;
}

/** The read-only policy the benchmark decides under (the same object for both engines). */
const POLICY = {
  limits: { deny_substrings: ['rm -rf', 'reboot'] },
  rules: [
    {
      name: 'read-only',
      action: 'allow',
      commands: [
        'echo *',
        'ls *',
        'cat /var/log/*',
        'grep *',
        'find *',
        'tail *',
        'head *',
        'sed -n *',
        'awk *',
        'tar -tf *',
        'git log*',
        'sort *',
        'journalctl *',
        'systemctl status *',
        'docker ps*',
        'kubectl get *',
        'uptime*',
        'df -h*',
      ],
    },
    { name: 'no-rm', action: 'deny', commands: ['rm *'] },
  ],
};

type Group = 'typical' | 'long' | 'denied';
type Expect = 'allow' | 'deny';
interface CorpusEntry {
  group: Group;
  command: string;
  /** What the policy above means for it; a mismatch is reported, it does not stop the run. */
  expect: Expect;
}

const typical = (expect: Expect, ...commands: string[]): CorpusEntry[] =>
  commands.map((command) => ({ group: 'typical', command, expect }));

/** `grep -E` with a 4 KiB alternation: the whole command is exactly 4096 bytes. */
function fourKiBCommand(): string {
  const head = "grep -E '";
  const tail = "' /var/log/syslog";
  let alts = '';
  for (let i = 0; alts.length < 4096; i++) alts += `${i === 0 ? '' : '|'}svc${i}-(timeout|refused|reset)`;
  return head + alts.slice(0, 4096 - head.length - tail.length) + tail;
}

function thirtyStagePipeline(): string {
  const stages = ['cat /var/log/syslog'];
  const filters = ['DEBUG', 'TRACE', 'healthcheck', 'kube-probe', 'cron', 'systemd-logind', 'dhclient'];
  for (let i = 0; stages.length < 28; i++) stages.push(`grep -v ${filters[i % filters.length]}${i}`);
  stages.push('sort -k3', 'head -n 20');
  return stages.join(' | ');
}

function longAndChain(): string {
  const dirs = ['/var/log', '/etc', '/srv', '/opt', '/tmp'];
  return Array.from({ length: 20 }, (_, i) => `ls -la ${dirs[i % dirs.length]}/d${i}`).join(' && ');
}

const CORPUS: CorpusEntry[] = [
  ...typical(
    'allow',
    'ls -la /var/log',
    'ls -lh /etc/nginx/sites-enabled',
    'ls -1t /var/log/nginx | head -n 5',
    'echo hello',
    'echo $HOME',
    'cat /var/log/syslog',
    'cat /var/log/nginx/error.log | grep -i timeout',
    'cat /var/log/messages | tail -n 30',
    'grep -r error /var/log/nginx',
    "grep -c 'Failed password' /var/log/auth.log",
    "grep -E 'ERROR|WARN' /var/log/app/app.log | tail -n 50",
    "grep -rn --include='*.conf' listen /etc/nginx",
    "find /var/log -name '*.log' -mtime -1",
    "find /etc -maxdepth 2 -type f -name '*.conf'",
    'find /tmp -type f -size +100M',
    'tail -n 100 /var/log/syslog',
    'tail -n 20 /var/log/nginx/access.log',
    'head -n 50 /var/log/dmesg',
    'head -c 4096 /var/log/kern.log',
    'head -n 3 /etc/os-release',
    "awk -F: '{print $1}' /etc/passwd",
    "sed -n '1,5p' /etc/hosts",
    "sed -n '/ERROR/p' /var/log/app.log",
    "sed -n '$p' /var/log/syslog",
    'tar -tf /backups/etc-2026-11-21.tar.gz',
    'tar -tf /backups/db.tar | head -n 20',
    'git log --oneline -n 20',
    'git log -p -1',
    "git log --since=yesterday --format='%h %an %s'",
    'git log --stat -3 -- src/',
    'sort -u /etc/shells',
    'sort -k2 -n /tmp/report.txt',
    'sort /var/log/app/errors.txt | head -n 10',
    'journalctl -u nginx --since today',
    'journalctl -p err -b --no-pager',
    'journalctl -u sshd -n 200 --no-pager | grep -i failed',
    'journalctl --disk-usage',
    'systemctl status nginx',
    'systemctl status postgresql --no-pager',
    'docker ps',
    "docker ps -a --format '{{.Names}} {{.Status}}'",
    'docker ps | grep web',
    'kubectl get pods -n kube-system',
    'kubectl get deploy -A -o wide',
    'kubectl get events --sort-by=.lastTimestamp -n default',
    "kubectl get svc -n prod -o jsonpath='{.items[*].metadata.name}'",
    'kubectl get pods -A | grep -v Running',
    'uptime',
    'uptime -p',
    'df -h',
    'df -h /var',
    'df -h && uptime',
    'uptime && df -h && ls -la /var/log',
    'ls /var/log && tail -n 5 /var/log/syslog',
    'systemctl status nginx; journalctl -u nginx -n 20 --no-pager',
    "grep -i oom /var/log/kern.log || echo 'no oom'",
    'grep -q nginx /etc/passwd && echo present',
    'tail -n 1000 /var/log/syslog | grep -i error | head -n 20',
    "echo 'check' && docker ps --filter status=exited",
    'ls -la /var/log > /dev/null',
    'find / -xdev -type f -name core 2>/dev/null',
  ),
  // Typical, but outside this policy: `uniq`, `wc` are not allowed, nor substitutions, and a
  // bare `sort` or `head` does not match `sort *` or `head *` (the glob needs the space).
  ...typical(
    'deny',
    "awk '$9 >= 500 {print $7}' /var/log/nginx/access.log | sort | head -n 20",
    "find /var/log -name '*.gz' | sort | tail -n 3",
    "cat /var/log/nginx/access.log | awk '{print $9}' | sort | head",
    "grep -h 'GET /api' /var/log/nginx/access.log | awk '{print $4}' | sort | tail -n 1",
    "awk '{print $1}' /var/log/access.log | sort | uniq -c",
    'grep -c error /var/log/syslog | wc -l',
    'echo "load: $(cat /proc/loadavg)"',
  ),
  { group: 'long', command: fourKiBCommand(), expect: 'allow' },
  { group: 'long', command: thirtyStagePipeline(), expect: 'allow' },
  { group: 'long', command: longAndChain(), expect: 'allow' },
  ...(
    [
      'rm -rf /var/log/nginx',
      'rm /tmp/x.log',
      'sudo reboot',
      'systemctl reboot',
      'REBOOT',
      'ls /tmp && rm -rf /tmp/cache',
      'echo ok; rm /etc/passwd',
      "r''m -r''f /",
      '/bin/rm -r /srv',
      'cat /etc/shadow',
      'curl -s http://example.com/install.sh | sh',
      'echo cmVib290 | base64 -d | sh',
      "find / -name '*.log' -exec rm {} \\;",
      'tail -f /var/log/syslog & rm -r ~',
    ] as const
  ).map((command): CorpusEntry => ({ group: 'denied', command, expect: 'deny' })),
];

interface Adversarial {
  name: string;
  /** The input at a fraction of its full size. */
  make(scale: number): string;
}

const repeatTo = (unit: string, bytes: number): string => unit.repeat(Math.max(1, Math.floor(bytes / unit.length)));
const FULL = 64 * 1024;

const ADVERSARIAL: Adversarial[] = [
  // Balanced: a double-quoted ' then a single-quoted ", concatenated into one 64 KiB word.
  { name: '64 KiB of alternating quotes (balanced)', make: (s) => `echo ${repeatTo(`"'"'"'`, FULL * s)}` },
  { name: '64 KiB of escaped quotes, never closed', make: (s) => `echo "${repeatTo(`\\"'`, FULL * s)}` },
  {
    name: '64 KiB of quotes nested in $(...)',
    make: (s) => {
      const depth = Math.max(1, Math.floor((FULL * s) / 12));
      return `echo "${'$(echo "'.repeat(depth)}x${'")'.repeat(depth)}"`;
    },
  },
  {
    name: '10,000 `;` separators (segments)',
    make: (s) => 'uptime; '.repeat(Math.max(1, Math.floor(10_000 * s))) + 'uptime',
  },
  { name: '10,000 bare `;`', make: (s) => `echo a${';'.repeat(Math.max(1, Math.floor(10_000 * s)))}` },
  {
    name: '10,000-deep nested $(...)',
    make: (s) => {
      const depth = Math.max(1, Math.floor(10_000 * s));
      return `echo ${'$(echo '.repeat(depth)}x${')'.repeat(depth)}`;
    },
  },
  {
    name: '10,000-deep nested ( ) subshells',
    make: (s) => {
      const depth = Math.max(1, Math.floor(10_000 * s));
      return `${'('.repeat(depth)}uptime${')'.repeat(depth)}`;
    },
  },
  { name: '64 KiB single word (no quotes)', make: (s) => `echo ${'a'.repeat(Math.floor(FULL * s))}` },
];

// ---------------------------------------------------------------------------------------------
// Loading the two engines

interface Decision {
  allowed: boolean;
  rule: string;
}
interface Engine {
  decide(target: { alias: string; tags: readonly string[] }, command: string): Decision;
}
interface Loaded {
  key: 'before' | 'after';
  label: string;
  engine: Engine;
  /** Where the code was loaded from. */
  source: string;
  files: string[];
  load_ms: number;
}
interface NotLoaded {
  key: 'before' | 'after';
  label: string;
  reason: string;
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function gitError(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  return (err.stderr || err.message || String(e)).trim().split('\n')[0] ?? 'unknown error';
}

/** Relative module specifiers (import, export ... from, import()) in a TypeScript source. */
function relativeImports(source: string): string[] {
  const found = new Set<string>();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (let m = re.exec(source); m !== null; m = re.exec(source)) found.add(m[1] as string);
  return [...found];
}

/**
 * Extracts src/policy/*.ts and src/config/schema.ts at `rev`, and every file they import
 * (relative imports, followed transitively), into `root` with the same layout. Returns the
 * files written (repository paths); throws with a reason when that is not possible.
 */
function extractRevision(rev: string, root: string): { commit: string; files: string[] } {
  try {
    git(['rev-parse', '--git-dir']);
  } catch (e) {
    throw new Error(`no git repository at ${REPO_ROOT} (${gitError(e)})`);
  }
  let commit: string;
  try {
    commit = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).trim();
  } catch {
    let shallow = false;
    try {
      shallow = git(['rev-parse', '--is-shallow-repository']).trim() === 'true';
    } catch {
      /* an old git */
    }
    throw new Error(
      `revision ${rev} is not in this clone${shallow ? ' (a shallow clone: git fetch --unshallow)' : ''}`,
    );
  }
  const listed = git(['ls-tree', '--name-only', commit, 'src/policy/'])
    .split('\n')
    .filter((p) => p.endsWith('.ts'));
  if (!listed.includes('src/policy/engine.ts')) throw new Error(`src/policy/engine.ts does not exist at ${rev}`);
  const queue = [...listed, 'src/config/schema.ts'];
  const done = new Set<string>();
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (done.has(path)) continue;
    done.add(path);
    let text: string;
    try {
      text = git(['show', `${commit}:${path}`]);
    } catch (e) {
      throw new Error(`${path} at ${rev} could not be read (${gitError(e)})`);
    }
    const out = join(root, path);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
    for (const spec of relativeImports(text)) {
      const resolved = posix.normalize(posix.join(posix.dirname(path), spec));
      queue.push(resolved.endsWith('.js') ? resolved.slice(0, -3) + '.ts' : resolved);
    }
  }
  return { commit, files: [...done].sort() };
}

interface EngineModule {
  PolicyEngine: new (policy: unknown) => Engine;
}
interface SchemaModule {
  policyFileSchema: { parse(input: unknown): unknown };
}

async function loadEngine(
  key: 'before' | 'after',
  label: string,
  root: string,
  files: string[],
): Promise<Loaded | NotLoaded> {
  const t0 = performance.now();
  try {
    const schema = (await import(pathToFileURL(join(root, 'src/config/schema.ts')).href)) as SchemaModule;
    const mod = (await import(pathToFileURL(join(root, 'src/policy/engine.ts')).href)) as EngineModule;
    if (typeof mod.PolicyEngine !== 'function') throw new Error('src/policy/engine.ts exports no PolicyEngine');
    if (typeof schema.policyFileSchema?.parse !== 'function')
      throw new Error('src/config/schema.ts exports no policyFileSchema');
    const engine = new mod.PolicyEngine(schema.policyFileSchema.parse(POLICY));
    const load_ms = performance.now() - t0;
    // Its answers must have the shape we read.
    const probe = engine.decide(TARGET, 'uptime');
    if (typeof probe?.allowed !== 'boolean' || typeof probe.rule !== 'string') {
      throw new Error(`decide() returned ${JSON.stringify(probe)}, not { allowed, rule, ... }`);
    }
    return { key, label, engine, source: root, files, load_ms };
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { key, label, reason: `could not be loaded: ${message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

/** One decide() call, in microseconds (hrtime resolution is nanoseconds). */
function timeDecide(engine: Engine, command: string): { us: number; decision?: Decision; error?: string } {
  const t0 = process.hrtime.bigint();
  try {
    const decision = engine.decide(TARGET, command);
    return { us: Number(process.hrtime.bigint() - t0) / 1000, decision };
  } catch (e) {
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    return { us, error: e instanceof Error ? `${e.name}: ${e.message.slice(0, 120)}` : String(e) };
  }
}

/** What two back-to-back hrtime.bigint() reads cost: the floor under every sample. */
function timerOverheadUs(): number {
  const xs: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = process.hrtime.bigint();
    xs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return summarize(xs).p50;
}

function describe(d: { decision?: Decision; error?: string }): string {
  if (d.error !== undefined) return `threw ${d.error}`;
  const x = d.decision as Decision;
  return `${x.allowed ? 'allow' : 'deny'} (${x.rule})`;
}

/**
 * How many times this thread has been put on a CPU (the third field of
 * /proc/thread-self/schedstat, Linux): when it changes across a call, the OS ran something else
 * in the middle of it, and that call's time is partly another process's. (Its CPU-time fields
 * are not exact for a running thread, nor is getrusage's split; this count is.) Always 0 where
 * there is no such file: no call is then known to be disturbed.
 */
const contextSwitches: () => number = (() => {
  try {
    const fd = openSync('/proc/thread-self/schedstat', 'r');
    const buf = Buffer.alloc(128);
    return () => {
      const n = readSync(fd, buf, 0, buf.length, 0);
      return Number(buf.toString('latin1', 0, n).trim().split(' ')[2]);
    };
  } catch {
    return () => 0;
  }
})();

interface CorpusResult {
  cold_first_call_us: number;
  /** Per corpus entry: samples in µs. */
  samples: number[][];
  /** Per corpus entry and sample: when the call started (performance.now(), ms). */
  starts: number[][];
  /** Per corpus entry and sample: the OS switched this thread out during the call. */
  switched: boolean[][];
  decisions: string[];
  errors: number;
}

function measureCorpus(engines: Loaded[]): Map<string, CorpusResult> {
  const results = new Map<string, CorpusResult>();
  for (const e of engines) {
    const first = timeDecide(e.engine, CORPUS[0]?.command ?? 'uptime');
    const decisions = CORPUS.map((c) => describe(timeDecide(e.engine, c.command)));
    results.set(e.key, {
      cold_first_call_us: first.us,
      samples: CORPUS.map(() => []),
      starts: CORPUS.map(() => []),
      switched: CORPUS.map(() => []),
      decisions,
      errors: decisions.filter((d) => d.startsWith('threw')).length,
    });
  }
  for (let i = 0; i < WARMUP; i++) for (const e of engines) for (const c of CORPUS) timeDecide(e.engine, c.command);
  const n = CORPUS.length;
  for (let pass = 0; pass < ROUNDS; pass++) {
    for (let k = 0; k < engines.length; k++) {
      const e = engines[(pass + k) % engines.length] as Loaded;
      const { samples, starts, switched } = results.get(e.key) as CorpusResult;
      // Rotate the starting command, so no command always follows the same one.
      for (let j = 0; j < n; j++) {
        const idx = (j + pass) % n;
        const s0 = contextSwitches();
        (starts[idx] as number[]).push(performance.now());
        (samples[idx] as number[]).push(timeDecide(e.engine, (CORPUS[idx] as CorpusEntry).command).us);
        (switched[idx] as boolean[]).push(s0 !== contextSwitches());
      }
    }
    if ((pass + 1) % 100 === 0) console.error(`  ${pass + 1}/${ROUNDS}`);
  }
  return results;
}

interface AdversarialRow {
  input: string;
  scale: number;
  bytes: number;
  engines: Record<
    string,
    | { measured: true; calls: number; first_us: number; p50_us: number; max_us: number; decision: string }
    | { measured: false; reason: string }
  >;
}

function measureAdversarial(engines: Loaded[]): AdversarialRow[] {
  const rows: AdversarialRow[] = [];
  for (const adv of ADVERSARIAL) {
    const stopped = new Map<string, string>();
    for (const scale of ADVERSARIAL_SCALES) {
      const command = adv.make(scale);
      const row: AdversarialRow = { input: adv.name, scale, bytes: Buffer.byteLength(command), engines: {} };
      for (const e of engines) {
        const why = stopped.get(e.key);
        if (why !== undefined) {
          row.engines[e.key] = { measured: false, reason: why };
          continue;
        }
        const first = timeDecide(e.engine, command);
        const xs = [first.us];
        const t0 = nowUs();
        while (xs.length < ADVERSARIAL_CALLS && nowUs() - t0 < ADVERSARIAL_BUDGET_MS * 1000) {
          xs.push(timeDecide(e.engine, command).us);
        }
        const s = summarize(xs.slice(1).length > 0 ? xs.slice(1) : xs);
        row.engines[e.key] = {
          measured: true,
          calls: xs.length,
          first_us: first.us,
          p50_us: s.p50,
          max_us: Math.max(...xs),
          decision: describe(first),
        };
        if (first.us > ADVERSARIAL_BUDGET_MS * 1000) {
          stopped.set(e.key, `not run: ${Math.round(first.us / 1000)} ms at ${round(scale, 4)} of the size`);
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Reporting

const GROUPS: { key: string; title: string; has: (c: CorpusEntry) => boolean }[] = [
  { key: 'typical', title: 'typical', has: (c) => c.group === 'typical' },
  { key: 'long', title: 'long (4 KiB, 30-stage pipe, 20 × &&)', has: (c) => c.group === 'long' },
  { key: 'denied', title: 'denied', has: (c) => c.group === 'denied' },
  { key: 'all', title: 'all', has: () => true },
];

const us = (x: number): number => (x >= 100 ? round(x, 0) : x >= 10 ? round(x, 1) : round(x, 2));
const short = (s: string, n = 64): string => {
  const flat = s.replace(/\|/g, '\\|');
  return flat.length <= n ? flat : `${flat.slice(0, n - 1)}… (${s.length} B)`;
};
const fmtSummary = (s: Summary): Record<string, number> => ({
  n: s.n,
  p50_us: us(s.p50),
  p99_us: us(s.p99),
  max_us: us(s.max),
  mean_us: us(s.mean),
});

async function main(ledger: Ledger): Promise<void> {
  const cacheRoot = join(REPO_ROOT, '.cache');
  mkdirSync(cacheRoot, { recursive: true });
  const loaded: Loaded[] = [];
  const notLoaded: NotLoaded[] = [];
  const commits: Record<string, string> = {};
  const tmpDirs: string[] = [];
  const loadRevision = async (key: 'before' | 'after', rev: string): Promise<void> => {
    const label = `${key} (${rev})`;
    const tmp = mkdtempSync(join(cacheRoot, `bench-policy-${key}-`));
    tmpDirs.push(tmp);
    try {
      const { commit, files } = extractRevision(rev, tmp);
      commits[key] = commit;
      const r = await loadEngine(key, label, tmp, files);
      if ('engine' in r) loaded.push(r);
      else notLoaded.push(r);
    } catch (e) {
      notLoaded.push({ key, label, reason: (e as Error).message });
    }
  };
  try {
    await loadRevision('before', BEFORE_REV);
    if (AFTER_REV !== undefined) await loadRevision('after', AFTER_REV);
    else {
      const r = await loadEngine('after', 'after (working tree)', REPO_ROOT, [
        'src/policy/engine.ts',
        'src/config/schema.ts',
      ]);
      if ('engine' in r) loaded.push(r);
      else notLoaded.push(r);
    }
  } finally {
    // The modules are loaded (or not): the files are no longer needed.
    if (!KEEP_EXTRACTED) for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  }
  for (const n of notLoaded) ledger.record(`engine ${n.label}`, n.reason);

  const overhead = timerOverheadUs();
  console.error(
    `policy: ${loaded.map((l) => l.key).join(' + ') || 'no engine'}; ${CORPUS.length} commands × ${ROUNDS} passes (warm-up ${WARMUP})`,
  );
  // Garbage collections during the timed passes: a long pause inside a decide() call is part
  // of that call's time (it does block the event loop), and this says how often that was.
  const gcSpans: { start: number; end: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      gcSpans.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const loadBefore = loadavg()[0] ?? NaN;
  const corpusT0 = performance.now();
  const corpus = measureCorpus(loaded);
  const corpusMs = performance.now() - corpusT0;
  // The observer is told of collections asynchronously, a little after the loop yields.
  await new Promise((resolve) => setTimeout(resolve, 50));
  gcObserver.disconnect();
  const gcs = gcSpans.map((g) => g.end - g.start);
  // A call that a collection overlapped (a little slack for the two clocks' reads).
  const hitByGc = (start: number, micros: number): boolean =>
    gcSpans.some((g) => g.start <= start + micros / 1000 + 0.005 && g.end >= start - 0.005);
  const gc = {
    count: gcs.length,
    total_ms: round(
      gcs.reduce((x, y) => x + y, 0),
      1,
    ),
    max_ms: round(Math.max(0, ...gcs), 2),
    over_1ms: gcs.filter((d) => d > 1).length,
    corpus_wall_ms: round(corpusMs, 0),
    calls_overlapped: Object.fromEntries(
      loaded.map((e) => {
        const r = corpus.get(e.key) as CorpusResult;
        let hit = 0;
        r.samples.forEach((xs, i) =>
          xs.forEach((x, j) => (hitByGc((r.starts[i] as number[])[j] as number, x) ? hit++ : 0)),
        );
        return [e.key, hit];
      }),
    ),
    calls_switched_out: Object.fromEntries(
      loaded.map((e) => {
        const r = corpus.get(e.key) as CorpusResult;
        return [e.key, r.switched.reduce((n, xs) => n + xs.filter(Boolean).length, 0)];
      }),
    ),
    loadavg_1min_at_start: round(loadBefore, 2),
  };
  console.error('policy: adversarial inputs');
  const adversarial = (await ledger.step('adversarial inputs', () => measureAdversarial(loaded))) ?? [];

  // Per engine: per-command summaries, pooled group summaries.
  const perCommand = new Map<string, Summary[]>();
  const groups = new Map<string, Record<string, Summary>>();
  for (const e of loaded) {
    const r = corpus.get(e.key) as CorpusResult;
    perCommand.set(
      e.key,
      r.samples.map((xs) => summarize(xs)),
    );
    const g: Record<string, Summary> = {};
    for (const group of GROUPS)
      g[group.key] = summarize(CORPUS.flatMap((c, i) => (group.has(c) ? (r.samples[i] as number[]) : [])));
    groups.set(e.key, g);
  }
  const before = loaded.find((l) => l.key === 'before');
  const afterE = loaded.find((l) => l.key === 'after');
  const ratio = (a: number | undefined, b: number | undefined): number | string =>
    a === undefined || b === undefined ? 'n/a' : round(a / b, 3);

  const notMeasuredLines = notLoaded.map((n) => `- ${n.key}: not measured (${n.reason})`);

  // The longest call that no garbage collection overlapped and the OS did not switch out: what
  // decide() itself took (a hypervisor's steal is still in it: the guest cannot see that).
  const undisturbedMax = (key: string, has: (c: CorpusEntry) => boolean): number => {
    const r = corpus.get(key) as CorpusResult;
    let m = 0;
    r.samples.forEach((xs, i) => {
      if (!has(CORPUS[i] as CorpusEntry)) return;
      xs.forEach((x, j) => {
        if (x > m && !(r.switched[i] as boolean[])[j] && !hitByGc((r.starts[i] as number[])[j] as number, x)) m = x;
      });
    });
    return m;
  };
  const maxUndisturbed = new Map(loaded.map((e) => [e.key, undisturbedMax(e.key, () => true)]));

  // Table: pooled per group.
  const groupRows: (string | number)[][] = [];
  for (const group of GROUPS) {
    const count = CORPUS.filter(group.has).length;
    for (const e of loaded) {
      const s = (groups.get(e.key) as Record<string, Summary>)[group.key] as Summary;
      const perCmdP50 = (perCommand.get(e.key) as Summary[])
        .filter((_, i) => group.has(CORPUS[i] as CorpusEntry))
        .map((x) => x.p50);
      groupRows.push([
        group.title,
        count,
        e.label,
        us(s.p50),
        us(s.p99),
        us(s.max),
        us(undisturbedMax(e.key, group.has)),
        us(Math.max(...perCmdP50)),
      ]);
    }
    if (before && afterE) {
      const b = (groups.get('before') as Record<string, Summary>)[group.key] as Summary;
      const a = (groups.get('after') as Record<string, Summary>)[group.key] as Summary;
      groupRows.push([
        group.title,
        count,
        'after / before',
        ratio(a.p50, b.p50),
        ratio(a.p99, b.p99),
        ratio(a.max, b.max),
        ratio(undisturbedMax('after', group.has), undisturbedMax('before', group.has)),
        '',
      ]);
    }
  }
  const groupTable = markdownTable(
    ['commands', 'n', 'engine', 'p50 µs', 'p99 µs', 'max µs', 'max µs, no GC/switch', 'worst per-command p50 µs'],
    groupRows,
  );

  // Table: slowest commands, by p50 of the newest engine measured.
  const rankBy = afterE ?? before;
  const slowest = rankBy
    ? CORPUS.map((c, i) => ({ c, i, p50: ((perCommand.get(rankBy.key) as Summary[])[i] as Summary).p50 }))
        .sort((x, y) => y.p50 - x.p50)
        .slice(0, 10)
    : [];
  const slowHeaders = ['command', 'group'];
  for (const e of loaded) slowHeaders.push(`${e.key} p50 µs`, `${e.key} p99 µs`, `${e.key} max µs`);
  if (before && afterE) slowHeaders.push('p50 after / before');
  const slowRows = slowest.map(({ c, i }) => {
    const row: (string | number)[] = [short(c.command), c.group];
    for (const e of loaded) {
      const s = (perCommand.get(e.key) as Summary[])[i] as Summary;
      row.push(us(s.p50), us(s.p99), us(s.max));
    }
    if (before && afterE) {
      const b = (perCommand.get('before') as Summary[])[i] as Summary;
      const a = (perCommand.get('after') as Summary[])[i] as Summary;
      row.push(ratio(a.p50, b.p50));
    }
    return row;
  });
  const slowTable = markdownTable(slowHeaders, slowRows);

  // Table: adversarial inputs, each size in turn; growth is p50 over the previous size's p50
  // (4× the input each step: about 4 is linear).
  const advHeaders = ['input', 'bytes'];
  for (const e of loaded) advHeaders.push(`${e.key} p50 µs`, `${e.key} max µs`, `${e.key} growth`);
  if (before && afterE) advHeaders.push('max after / before');
  advHeaders.push('decision');
  const advRows = adversarial.map((row, r) => {
    const prev = r > 0 && adversarial[r - 1]?.input === row.input ? adversarial[r - 1] : undefined;
    const size = row.scale === 1 ? 'full size' : `1/${Math.round(1 / row.scale)}`;
    const cells: (string | number)[] = [prev === undefined ? `${row.input}, ${size}` : `… ${size}`, row.bytes];
    const decisions = new Set<string>();
    for (const e of loaded) {
      const x = row.engines[e.key];
      const p = prev?.engines[e.key];
      if (x === undefined || !x.measured) {
        cells.push('—', '—', '');
        decisions.add(x ? x.reason : 'not measured');
        continue;
      }
      cells.push(us(x.p50_us), us(x.max_us), p?.measured ? round(x.p50_us / p.p50_us, 1) : '');
      decisions.add(x.decision);
    }
    if (before && afterE) {
      const b = row.engines.before;
      const a = row.engines.after;
      cells.push(b?.measured && a?.measured ? ratio(a.max_us, b.max_us) : 'n/a');
    }
    cells.push(
      decisions.size <= 1
        ? short([...decisions][0] ?? '', 40)
        : loaded
            .map((e) => `${e.key}: ${short(String((row.engines[e.key] as { decision?: string }).decision), 30)}`)
            .join('; '),
    );
    return cells;
  });
  const advTable = markdownTable(advHeaders, advRows);

  // Decisions: expected vs. actual, and before vs. after.
  const mismatches: { command: string; expect: Expect; engine: string; decision: string }[] = [];
  const disagreements: { command: string; before: string; after: string }[] = [];
  for (const e of loaded) {
    const r = corpus.get(e.key) as CorpusResult;
    CORPUS.forEach((c, i) => {
      const d = r.decisions[i] as string;
      if (!d.startsWith(c.expect))
        mismatches.push({ command: c.command, expect: c.expect, engine: e.key, decision: d });
    });
  }
  if (before && afterE) {
    const b = (corpus.get('before') as CorpusResult).decisions;
    const a = (corpus.get('after') as CorpusResult).decisions;
    CORPUS.forEach((c, i) => {
      if (b[i] !== a[i]) disagreements.push({ command: c.command, before: b[i] as string, after: a[i] as string });
    });
  }
  const decisionTable = markdownTable(
    ['engine', 'allowed', 'denied', 'threw', 'not as the policy means'],
    loaded.map((e) => {
      const d = (corpus.get(e.key) as CorpusResult).decisions;
      return [
        e.label,
        d.filter((x) => x.startsWith('allow')).length,
        d.filter((x) => x.startsWith('deny')).length,
        d.filter((x) => x.startsWith('threw')).length,
        mismatches.filter((m) => m.engine === e.key).length,
      ];
    }),
  );

  // Targets.
  const checks: TargetCheck[] = [];
  for (const e of loaded) {
    const g = groups.get(e.key) as Record<string, Summary>;
    const perCmd = perCommand.get(e.key) as Summary[];
    const typicalP50s = perCmd.filter((_, i) => (CORPUS[i] as CorpusEntry).group === 'typical').map((s) => s.p50);
    const advP50 = Math.max(
      0,
      ...adversarial.map((r) => {
        const x = r.engines[e.key];
        return x?.measured ? x.p50_us : 0;
      }),
    );
    const advMax = Math.max(
      0,
      ...adversarial.map((r) => {
        const x = r.engines[e.key];
        return x?.measured ? x.max_us : 0;
      }),
    );
    checks.push(
      target(`${e.key}: typical command p50, pooled (µs)`, (g.typical as Summary).p50, TYPICAL_P50_LIMIT_US),
      target(`${e.key}: slowest typical command's p50 (µs)`, Math.max(...typicalP50s), TYPICAL_P50_LIMIT_US),
      target(
        `${e.key}: longest single decide(), corpus incl. long, warm (µs)`,
        (g.all as Summary).max,
        SYNC_STEP_LIMIT_US,
      ),
      target(
        `${e.key}: longest single decide(), corpus, no GC nor context switch in it (µs)`,
        maxUndisturbed.get(e.key) as number,
        SYNC_STEP_LIMIT_US,
      ),
      target(`${e.key}: slowest corpus command's p50 (µs)`, Math.max(...perCmd.map((s) => s.p50)), SYNC_STEP_LIMIT_US),
      target(`${e.key}: longest single decide(), adversarial, any size (µs)`, advMax, SYNC_STEP_LIMIT_US),
      target(`${e.key}: slowest adversarial input's p50 (µs)`, advP50, SYNC_STEP_LIMIT_US),
    );
  }

  const title = `## Policy decision, PolicyEngine.decide(), ${CORPUS.length} commands × ${ROUNDS} passes each, warm`;
  const lines: string[] = ['', title, ''];
  lines.push(
    `Before: ${before ? `git ${BEFORE_REV} (${commits.before?.slice(0, 12)}), extracted with git show` : 'not measured'}; ` +
      `after: ${afterE ? (AFTER_REV !== undefined ? `git ${AFTER_REV} (${commits.after?.slice(0, 12)}), extracted with git show` : 'the working tree') : 'not measured'}. ` +
      `Each call timed alone (process.hrtime.bigint(), ${us(overhead)} µs timer floor); warm-up ${WARMUP} passes.`,
    `During the timed passes (${gc.corpus_wall_ms} ms): ${gc.count} garbage collections, ${gc.total_ms} ms in all, the longest ${gc.max_ms} ms, ${gc.over_1ms} over 1 ms, overlapping ${Object.entries(
      gc.calls_overlapped,
    )
      .map(([k, v]) => `${v} ${k}`)
      .join(' and ')} calls; the OS switched out ${Object.entries(gc.calls_switched_out)
      .map(([k, v]) => `${v} ${k}`)
      .join(' and ')} calls; load average ${gc.loadavg_1min_at_start} at the start.`,
  );
  if (notMeasuredLines.length > 0) lines.push('', ...notMeasuredLines);
  lines.push(
    '',
    groupTable,
    '',
    '### Slowest commands',
    '',
    slowTable,
    '',
    `### Adversarial inputs, at 1/64, 1/16, 1/4 and full size (p50 and max over up to ${ADVERSARIAL_CALLS} calls or ${ADVERSARIAL_BUDGET_MS / 1000} s)`,
    '',
    advTable,
  );
  lines.push('', '### Decisions', '', decisionTable);
  if (mismatches.length > 0) {
    lines.push('', 'Not as the policy means:', '');
    for (const m of mismatches)
      lines.push(`- ${m.engine}: \`${short(m.command, 80)}\` expected ${m.expect}, got ${m.decision}`);
  }
  if (before && afterE) {
    lines.push(
      '',
      disagreements.length === 0
        ? 'Before and after decide every corpus command alike.'
        : `Before and after disagree on ${disagreements.length} commands:`,
    );
    for (const d of disagreements) lines.push(`- \`${short(d.command, 80)}\`: before ${d.before}, after ${d.after}`);
  }
  lines.push('', '### Targets', '', checks.length > 0 ? printTargets(checks) : 'No engine was measured.');
  const notMeasured = ledger.markdown();
  if (notMeasured) lines.push(notMeasured);
  console.log(lines.join('\n'));

  const engineDoc = (key: 'before' | 'after'): Record<string, unknown> => {
    const e = loaded.find((l) => l.key === key);
    if (!e) {
      const n = notLoaded.find((l) => l.key === key);
      return { measured: false, label: n?.label, reason: n?.reason };
    }
    const r = corpus.get(key) as CorpusResult;
    const g = groups.get(key) as Record<string, Summary>;
    return {
      measured: true,
      label: e.label,
      ...(key === 'before'
        ? { revision: BEFORE_REV, commit: commits.before, files: e.files }
        : AFTER_REV !== undefined
          ? { revision: AFTER_REV, commit: commits.after, files: e.files }
          : { source: 'working tree' }),
      load_ms: round(e.load_ms, 1),
      cold_first_call_us: us(r.cold_first_call_us),
      max_us_undisturbed: us(maxUndisturbed.get(key) as number),
      max_us_undisturbed_by_group: Object.fromEntries(GROUPS.map((grp) => [grp.key, us(undisturbedMax(key, grp.has))])),
      groups: Object.fromEntries(Object.entries(g).map(([k, s]) => [k, fmtSummary(s)])),
      errors: r.errors,
    };
  };
  const file = writeResults('policy', {
    unmeasured: ledger.unmeasured,
    params: {
      rounds: ROUNDS,
      warmup: WARMUP,
      before_revision: BEFORE_REV,
      after: AFTER_REV ?? 'working tree',
      target: TARGET,
      policy: POLICY,
      timer_overhead_us: us(overhead),
      gc_during_corpus: gc,
      adversarial_scales: ADVERSARIAL_SCALES,
      adversarial_calls: ADVERSARIAL_CALLS,
    },
    engines: { before: engineDoc('before'), after: engineDoc('after') },
    ratios_after_over_before:
      before && afterE
        ? Object.fromEntries(
            GROUPS.map((group) => {
              const b = (groups.get('before') as Record<string, Summary>)[group.key] as Summary;
              const a = (groups.get('after') as Record<string, Summary>)[group.key] as Summary;
              return [group.key, { p50: ratio(a.p50, b.p50), p99: ratio(a.p99, b.p99), max: ratio(a.max, b.max) }];
            }),
          )
        : null,
    commands: CORPUS.map((c, i) => ({
      group: c.group,
      command: c.command.length > 200 ? `${c.command.slice(0, 200)}…` : c.command,
      bytes: Buffer.byteLength(c.command),
      expect: c.expect,
      ...Object.fromEntries(
        loaded.map((e) => [
          e.key,
          {
            decision: (corpus.get(e.key) as CorpusResult).decisions[i],
            ...fmtSummary((perCommand.get(e.key) as Summary[])[i] as Summary),
          },
        ]),
      ),
    })),
    adversarial: adversarial.map((r) => ({
      ...r,
      engines: Object.fromEntries(
        Object.entries(r.engines).map(([k, v]) =>
          v.measured ? [k, { ...v, first_us: us(v.first_us), p50_us: us(v.p50_us), max_us: us(v.max_us) }] : [k, v],
        ),
      ),
    })),
    decision_mismatches: mismatches,
    before_after_disagreements: disagreements,
    targets: checks,
    tables: {
      groups: groupTable,
      slowest: slowTable,
      adversarial: advTable,
      decisions: decisionTable,
      targets: printTargets(checks),
      ...(notMeasured ? { not_measured: notMeasured.trim() } : {}),
    },
  });
  console.error(`\nwrote ${file}`);
}

await runBenchmark('policy', main);
