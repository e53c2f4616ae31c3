/**
 * Real engines for the stack tests (test/stack): Elasticsearch 8, OpenSearch (ingest pipelines
 * with painless), the OpenTelemetry Collector built with ocb, the Logstash config grammar
 * checker `mustache`, Ruby (the Logstash kit's ruby filter script), promtool / Prometheus,
 * docker-compose and dclint; and the MCP registry's server.json validator (test/package).
 *
 * Engines are provisioned by scripts/engines/*.sh into .cache/engines/ (see docs/testing.md).
 * A test file asks for what it needs with requireEngine(): under CI=true a missing engine
 * throws, so the run fails loudly; elsewhere it prints one line (what is missing and the command
 * that gets it) and returns undefined, so the file can describe.skip.
 *
 * Servers started here are bounded in every wait, get free ports (and retry on a port race),
 * run in their own process group so stop() takes the whole tree, and are recorded under
 * .cache/engines/run/ so an instance left behind by a crashed earlier run is killed and its
 * temp directory removed the next time any engine starts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  accessSync,
  constants as fsConstants,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ENGINES_CACHE = process.env.ENGINES_CACHE ?? join(REPO_ROOT, '.cache/engines');
const RUN_DIR = join(ENGINES_CACHE, 'run');

export type EngineName =
  | 'elasticsearch'
  | 'ilm-check'
  | 'opensearch'
  | 'otelcol'
  | 'mustache'
  | 'promtool'
  | 'prometheus'
  | 'docker-compose'
  | 'dclint'
  | 'ruby'
  | 'openssl'
  | 'mcp-registry';

/** The command that provisions each engine (printed when it is missing). */
const FIX: Record<EngineName, string> = {
  elasticsearch: 'scripts/engines/elasticsearch.sh',
  'ilm-check': 'scripts/engines/elasticsearch.sh',
  opensearch: 'scripts/engines/elasticsearch.sh',
  otelcol: 'scripts/engines/otelcol.sh',
  mustache: 'scripts/engines/mustache.sh',
  promtool: 'scripts/engines/prometheus.sh',
  prometheus: 'scripts/engines/prometheus.sh',
  'docker-compose': 'scripts/engines/compose.sh',
  dclint: 'npm ci',
  ruby: 'scripts/engines/ruby.sh',
  openssl: 'scripts/engines/otelcol.sh',
  'mcp-registry': 'scripts/engines/mcp-registry.sh',
};

export interface Engine {
  name: EngineName;
  /** Binary (or Elasticsearch home, or Java class path for opensearch). */
  path: string;
  /** What the provisioning script recorded in the engine's marker file. */
  info: Record<string, string>;
}

type Check = { ok: true; engine: Engine } | { ok: false; reason: string };

function isExecutable(p: string): boolean {
  try {
    accessSync(p, fsConstants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

/** Reads the marker a provisioning script writes after it verified the engine runs. */
function readMarker(dir: string): Record<string, string> | undefined {
  try {
    return JSON.parse(readFileSync(join(ENGINES_CACHE, dir, '.ok'), 'utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}

function userExists(user: string): boolean {
  return spawnSync('id', ['-u', user], { stdio: 'ignore' }).status === 0;
}

function check(name: EngineName): Check {
  const cached = (dir: string, key: string): Check => {
    const info = readMarker(dir);
    if (!info) return { ok: false, reason: `no verified build in .cache/engines/${dir}` };
    const p = info[key];
    if (!p) return { ok: false, reason: `marker in .cache/engines/${dir} lacks "${key}"` };
    return { ok: true, engine: { name, path: p, info } };
  };
  const apt = (bin: string): Check => {
    const p = onPath(bin);
    return p ? { ok: true, engine: { name, path: p, info: {} } } : { ok: false, reason: `${bin} not on PATH` };
  };
  switch (name) {
    case 'elasticsearch': {
      const c = cached('elasticsearch', 'home');
      if (!c.ok) return c;
      if (!isExecutable(join(c.engine.path, 'bin/elasticsearch')))
        return { ok: false, reason: `${c.engine.path}/bin/elasticsearch missing (half-written cache?)` };
      const runAs = c.engine.info.runAs;
      if (isRoot() && !runAs) return { ok: false, reason: 'running as root but no engine user was provisioned' };
      if (runAs && !userExists(runAs)) return { ok: false, reason: `engine user ${runAs} does not exist` };
      return c;
    }
    case 'ilm-check':
      return cached('elasticsearch', 'ilmCheckClasspath');
    case 'opensearch':
      return cached('opensearch', 'classpath');
    case 'otelcol':
    case 'mustache':
    case 'mcp-registry': {
      const c = cached(name, 'binary');
      if (c.ok && !isExecutable(c.engine.path)) return { ok: false, reason: `${c.engine.path} missing` };
      return c;
    }
    case 'promtool':
      return apt('promtool');
    case 'prometheus':
      return apt('prometheus');
    case 'docker-compose':
      return apt('docker-compose');
    case 'ruby':
      return apt('ruby');
    case 'openssl':
      return apt('openssl');
    case 'dclint': {
      const p = join(REPO_ROOT, 'node_modules/.bin/dclint');
      return isExecutable(p)
        ? { ok: true, engine: { name, path: p, info: {} } }
        : { ok: false, reason: 'not installed' };
    }
  }
}

const announced = new Set<string>();

/**
 * The engine if it is provisioned. Otherwise: under CI=true, throws (the run must fail loudly);
 * elsewhere prints one line saying what is missing and how to get it, and returns undefined.
 */
export function requireEngine(name: EngineName): Engine | undefined {
  const c = check(name);
  if (c.ok) return c.engine;
  const line = `${name} is not provisioned (${c.reason}); get it with: ${FIX[name]}  (or all: scripts/engines/provision-all.sh)`;
  if (process.env.CI === 'true') throw new Error(`stack tests: ${line}`);
  if (!announced.has(name)) {
    announced.add(name);
    process.stderr.write(`stack tests SKIPPED: ${line}\n`);
  }
  return undefined;
}

/** requireEngine for several at once: true only if every one is there. */
export function requireEngines(...names: EngineName[]): boolean {
  return names.map((n) => requireEngine(n)).every(Boolean);
}

function mustHave(name: EngineName): Engine {
  const c = check(name);
  if (!c.ok) throw new Error(`${name} is not provisioned (${c.reason}); run ${FIX[name]}`);
  return c.engine;
}

// ---------------------------------------------------------------------------------------------
// One-shot tools

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  cwd?: string;
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

function runTool(bin: string, args: string[], opts: ToolOptions = {}): ToolResult {
  const r = spawnSync(bin, args, {
    cwd: opts.cwd,
    input: opts.input,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
    maxBuffer: 32 * 1024 * 1024,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new Error(`${bin} ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms`);
  }
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const promtool = (args: string[], opts?: ToolOptions): ToolResult =>
  runTool(mustHave('promtool').path, args, opts);
export const mustache = (args: string[], opts?: ToolOptions): ToolResult =>
  runTool(mustHave('mustache').path, args, opts);
export const dockerCompose = (args: string[], opts?: ToolOptions): ToolResult =>
  runTool(mustHave('docker-compose').path, args, opts);
export const dclint = (args: string[], opts?: ToolOptions): ToolResult => runTool(mustHave('dclint').path, args, opts);
/** `openssl <args>`: certificates for the Collector's TLS tests. */
export const openssl = (args: string[], opts?: ToolOptions): ToolResult =>
  runTool(mustHave('openssl').path, args, opts);
/** `ruby <args>` (Debian's Ruby), for the Logstash kit's ruby filter script. */
export const ruby = (args: string[], opts?: ToolOptions): ToolResult => runTool(mustHave('ruby').path, args, opts);
/**
 * ILM policy files checked by Elasticsearch 8's own ILM parser and rules (x-pack-core), since
 * no ES 8 on Maven Central has the ILM plugin. Prints `OK file` / `FAIL file: reason` per file;
 * exit code 1 if any failed. See test/stack/engines/es-runner/src/ilm/.../IlmCheck.java.
 */
export function ilmCheck(files: string[], opts?: ToolOptions): ToolResult {
  const e = mustHave('ilm-check');
  const java = join(e.info.javaHome ?? '', 'bin/java');
  return runTool(java, ['-cp', e.path, 'dev.mcpssh.engines.IlmCheck', ...files], opts);
}
/** `otelcol-mcp <args>`, e.g. otelcol(['validate', '--config', file]). */
export const otelcol = (args: string[], opts?: ToolOptions): ToolResult =>
  runTool(mustHave('otelcol').path, args, opts);

// ---------------------------------------------------------------------------------------------
// Long-running servers: ports, process groups, bounded waits, stale-instance cleanup

/** A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a race). */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

interface RunRecord {
  owner: number;
  pgid: number;
  /** A string the group leader's command line must contain, so a reused pid is never killed. */
  marker: string;
  dir?: string;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function track(rec: RunRecord): string {
  mkdirSync(RUN_DIR, { recursive: true });
  const file = join(RUN_DIR, `${rec.pgid}.json`);
  writeFileSync(file, JSON.stringify(rec));
  liveGroups.add(rec.pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort if a test file forgets stop(): nothing survives this process.
    process.once('exit', () => liveGroups.forEach((g) => killGroup(g, 'SIGKILL')));
  }
  return file;
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Kills instances whose owning test process is gone (crashed run) and removes their dirs. */
export function sweepStaleInstances(): void {
  let files: string[];
  try {
    files = readdirSync(RUN_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const f of files) {
    const file = join(RUN_DIR, f);
    let rec: RunRecord;
    try {
      rec = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    if (rec.owner !== process.pid && alive(rec.owner)) continue;
    if (liveGroups.has(rec.pgid)) continue;
    if (alive(rec.pgid) && cmdlineOf(rec.pgid).includes(rec.marker)) {
      process.stderr.write(`stack tests: killing leftover engine process group ${rec.pgid} (${rec.marker})\n`);
      killGroup(rec.pgid, 'SIGKILL');
    }
    if (rec.dir) rmSync(rec.dir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
}

/** Polls `probe` until it returns true; fails early if the process exits; never waits past timeoutMs. */
async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; exited: () => string | undefined; logs: () => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const exit = opts.exited();
    if (exit) throw new StartError(`${what} exited during startup (${exit})`, opts.logs());
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new StartError(`${what} not ready after ${opts.timeoutMs} ms`, opts.logs());
    await sleep(500);
  }
}

class StartError extends Error {
  constructor(
    message: string,
    readonly logs: string,
  ) {
    super(`${message}\n---- last log lines ----\n${logs.split('\n').slice(-40).join('\n')}`);
  }
  get portRace(): boolean {
    return /BindException|Address already in use|address already in use|failed to bind/i.test(this.logs);
  }
}

interface Spawned {
  child: ChildProcess;
  logs(): string;
  exited(): string | undefined;
  stop(): Promise<void>;
}

/** Starts `cmd` in its own process group with output to logFile, tracked for cleanup. */
function startGroup(
  cmd: string,
  args: string[],
  o: {
    logFile: string;
    marker: string;
    /** Removed by stop() (and by the sweeper after a crashed run), unless keepDir. */
    dir?: string;
    /** stop() leaves `dir` in place: the caller starts the engine again on the same data. */
    keepDir?: boolean;
    stdinPipe?: boolean;
    env?: NodeJS.ProcessEnv;
  },
): Spawned {
  const fd = openSync(o.logFile, 'a');
  const child = spawn(cmd, args, {
    detached: true, // own process group: stop() and the sweeper kill the whole tree
    stdio: [o.stdinPipe ? 'pipe' : 'ignore', fd, fd],
    env: o.env ?? process.env,
  });
  closeSync(fd);
  let exit: string | undefined;
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  child.on('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `code ${code}`));
  if (child.pid === undefined) throw new Error(`could not start ${cmd}: ${spawnError?.message ?? 'unknown error'}`);
  const pgid = child.pid;
  const record = track({ owner: process.pid, pgid, marker: o.marker, dir: o.dir });
  const logs = () => {
    try {
      return readFileSync(o.logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (exit === undefined) {
      killGroup(pgid, 'SIGTERM');
      const deadline = Date.now() + 20_000;
      while (exit === undefined && Date.now() < deadline) await sleep(100);
      if (exit === undefined) {
        killGroup(pgid, 'SIGKILL');
        const hard = Date.now() + 5_000;
        while (exit === undefined && Date.now() < hard) await sleep(100);
      }
    }
    // Children of the leader (e.g. the Elasticsearch server JVM) may outlive it briefly.
    killGroup(pgid, 'SIGKILL');
    liveGroups.delete(pgid);
    if (o.dir && !o.keepDir) rmSync(o.dir, { recursive: true, force: true, maxRetries: 3 });
    rmSync(record, { force: true });
  };
  return { child, logs, exited: () => exit ?? (spawnError ? `spawn error ${spawnError.message}` : undefined), stop };
}

function chownTree(p: string, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(join(p, e), uid, gid);
}

function idOf(user: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`cannot resolve user ${user}`);
  return { uid, gid };
}

async function httpOk(url: string, accept?: (body: string) => boolean): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  const body = await res.text();
  return res.ok && (accept ? accept(body) : true);
}

async function withPortRetry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (i < 3 && e instanceof StartError && e.portRace) {
        process.stderr.write(`stack tests: ${what} lost a port race, retrying on new ports\n`);
        continue;
      }
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Search engines

export interface SearchEngine {
  flavor: 'elasticsearch' | 'opensearch';
  url: string;
  port: number;
  version: string;
  dir: string;
  logs(): string;
  stop(): Promise<void>;
}

export interface SearchEngineOptions {
  heapMb?: number;
  /** Bound on startup; the default allows for a cold JVM on a busy 2-core machine. */
  readyTimeoutMs?: number;
}

const clusterReady = (url: string) =>
  httpOk(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, (b) => /"status":"(yellow|green)"/.test(b));

/**
 * A single-node Elasticsearch 8 on 127.0.0.1 (security off, data in a fresh temp dir).
 * It has no ingest processors, no painless and no ILM: use startOpenSearch() for pipelines.
 */
export async function startElasticsearch(opts: SearchEngineOptions = {}): Promise<SearchEngine> {
  return withPortRetry('elasticsearch', async () => {
    const node = await prepareElasticsearch(opts);
    const proc = startGroup(node.cmd, node.args, { logFile: node.logFile, marker: node.conf, dir: node.dir });
    try {
      await waitForElasticsearch(node.url, proc, opts);
    } catch (e) {
      await proc.stop();
      throw e;
    }
    const version = await elasticsearchVersion(node.url);
    return { flavor: 'elasticsearch' as const, ...node, version, logs: proc.logs, stop: proc.stop };
  });
}

export interface RestartableElasticsearch {
  url: string;
  version: string;
  running(): boolean;
  /** Stops the node (SIGTERM, as `docker stop` would), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves when the cluster is yellow. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
  logs(): string;
}

/**
 * Elasticsearch 8 as startElasticsearch() starts it, whose data directory survives stop(): for
 * outage tests that stop the node and start it again on the same port with the same data.
 */
export async function startRestartableElasticsearch(opts: SearchEngineOptions = {}): Promise<RestartableElasticsearch> {
  const node = await prepareElasticsearch(opts);
  let proc: Spawned | undefined;
  const running = (): boolean => proc !== undefined && proc.exited() === undefined;
  const start = async (): Promise<void> => {
    if (running()) return;
    appendFileSync(node.logFile, `---- start ${new Date().toISOString()} ----\n`);
    const p = startGroup(node.cmd, node.args, {
      logFile: node.logFile,
      marker: node.conf,
      dir: node.dir,
      keepDir: true,
    });
    proc = p;
    try {
      await waitForElasticsearch(node.url, p, opts);
    } catch (e) {
      await p.stop();
      throw e;
    }
  };
  await start();
  const version = await elasticsearchVersion(node.url);
  return {
    url: node.url,
    version,
    running,
    stop: async () => proc?.stop(),
    start,
    destroy: async () => {
      await proc?.stop();
      rmSync(node.dir, { recursive: true, force: true, maxRetries: 3 });
    },
    logs: () => (proc ? proc.logs() : ''),
  };
}

interface PreparedElasticsearch {
  url: string;
  port: number;
  dir: string;
  conf: string;
  logFile: string;
  cmd: string;
  args: string[];
}

/** A fresh node directory (config, data, logs) on free ports, and the command that starts it. */
async function prepareElasticsearch(opts: SearchEngineOptions): Promise<PreparedElasticsearch> {
  const es = mustHave('elasticsearch');
  sweepStaleInstances();
  const home = es.path;
  const runAs = es.info.runAs || undefined;
  const javaHome = es.info.javaHome ?? '';
  const [port, transport] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'mcp-es-'));
  const conf = join(dir, 'config');
  cpSync(join(home, 'config'), conf, { recursive: true });
  for (const d of ['data', 'logs', 'tmp']) mkdirSync(join(dir, d));
  writeFileSync(
    join(conf, 'elasticsearch.yml'),
    [
      'cluster.name: mcp-stack-tests',
      'node.name: stack-test',
      'discovery.type: single-node',
      'network.host: 127.0.0.1',
      `http.port: ${port}`,
      `transport.port: ${transport}`,
      `path.data: ${join(dir, 'data')}`,
      `path.logs: ${join(dir, 'logs')}`,
      'xpack.security.enabled: false',
      'cluster.routing.allocation.disk.threshold_enabled: false',
      'action.destructive_requires_name: false',
      '',
    ].join('\n'),
  );
  const heap = opts.heapMb ?? 512;
  mkdirSync(join(conf, 'jvm.options.d'), { recursive: true });
  writeFileSync(join(conf, 'jvm.options.d', 'heap.options'), `-Xms${heap}m\n-Xmx${heap}m\n`);
  if (runAs) {
    const { uid, gid } = idOf(runAs);
    chownTree(dir, uid, gid);
  }
  // The ES_PATH_CONF=<dir> argument doubles as the marker the stale sweeper looks for.
  const envArgs = [`ES_JAVA_HOME=${javaHome}`, `ES_PATH_CONF=${conf}`, `ES_TMPDIR=${join(dir, 'tmp')}`];
  const bin = join(home, 'bin/elasticsearch');
  const [cmd, args] = runAs ? ['runuser', ['-u', runAs, '--', 'env', ...envArgs, bin]] : ['env', [...envArgs, bin]];
  return { url: `http://127.0.0.1:${port}`, port, dir, conf, logFile: join(dir, 'console.log'), cmd, args };
}

function waitForElasticsearch(url: string, proc: Spawned, opts: SearchEngineOptions): Promise<void> {
  return waitUntil('elasticsearch', () => clusterReady(url), {
    timeoutMs: opts.readyTimeoutMs ?? 120_000,
    exited: proc.exited,
    logs: proc.logs,
  });
}

async function elasticsearchVersion(url: string): Promise<string> {
  const nodes = (await (await fetch(`${url}/_nodes/_local?filter_path=nodes.*.version`)).json()) as {
    nodes: Record<string, { version: string }>;
  };
  return Object.values(nodes.nodes)[0]?.version ?? 'unknown';
}

/**
 * A single-node OpenSearch 2 (ingest-common, painless, data streams) for ingest pipeline
 * _simulate runs; see docs/testing.md for why pipelines are proven on it and not on ES 8.
 */
export async function startOpenSearch(opts: SearchEngineOptions = {}): Promise<SearchEngine> {
  const os = mustHave('opensearch');
  sweepStaleInstances();
  const java = join(os.info.javaHome ?? '', 'bin/java');
  return withPortRetry('opensearch', async () => {
    const [port, transport] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'mcp-os-'));
    const base = join(dir, 'node');
    const heap = opts.heapMb ?? 512;
    const proc = startGroup(
      java,
      [
        `-Xms${heap}m`,
        `-Xmx${heap}m`,
        `-Djava.io.tmpdir=${dir}`,
        '-cp',
        os.path,
        'dev.mcpssh.engines.OpenSearchMain',
        '--http-port',
        String(port),
        '--transport-port',
        String(transport),
        '--base',
        base,
        // Our end of stdin closes when this process dies, and the node then exits by itself.
        '--exit-on-stdin-eof',
      ],
      { logFile: join(dir, 'console.log'), marker: base, dir, stdinPipe: true },
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil('opensearch', () => clusterReady(url), {
        timeoutMs: opts.readyTimeoutMs ?? 120_000,
        exited: proc.exited,
        logs: proc.logs,
      });
    } catch (e) {
      await proc.stop();
      throw e;
    }
    const root = (await (await fetch(url)).json()) as { version: { number: string } };
    return {
      flavor: 'opensearch' as const,
      url,
      port,
      version: root.version.number,
      dir,
      logs: proc.logs,
      stop: proc.stop,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry Collector and Prometheus

export interface RunningCollector {
  pid: number;
  logs(): string;
  /** Waits (bounded) for a log line matching re; throws with the logs if it never comes. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs otelcol-mcp with the given config (env vars reach ${env:NAME} in it) and waits until it
 * reports every pipeline started. Ports in the config should come from freePort() via env;
 * `args` are further command-line flags (e.g. the agent's --feature-gates).
 */
export async function startCollector(
  configPath: string,
  opts: { env?: Record<string, string>; readyTimeoutMs?: number; args?: string[] } = {},
): Promise<RunningCollector> {
  const bin = mustHave('otelcol').path;
  sweepStaleInstances();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-otelcol-'));
  const proc = startGroup(bin, [`--config=${resolve(configPath)}`, ...(opts.args ?? [])], {
    logFile: join(dir, 'collector.log'),
    marker: resolve(configPath),
    dir,
    env: { ...process.env, ...opts.env },
  });
  const waitForLog = (re: RegExp, timeoutMs = 30_000) =>
    waitUntil(`collector log ${re}`, async () => re.test(proc.logs()), {
      timeoutMs,
      exited: proc.exited,
      logs: proc.logs,
    });
  try {
    await waitForLog(/Everything is ready/, opts.readyTimeoutMs ?? 30_000);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { pid: proc.child.pid ?? -1, logs: proc.logs, waitForLog, stop: proc.stop };
}

export interface RunningPrometheus {
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A Prometheus server on a free port with its TSDB in a temp dir. `config` is the YAML text;
 * `__SELF__` in it becomes the server's own host:port (so it can scrape itself).
 */
export async function startPrometheus(
  config: string,
  opts: { readyTimeoutMs?: number } = {},
): Promise<RunningPrometheus> {
  const bin = mustHave('prometheus').path;
  sweepStaleInstances();
  return withPortRetry('prometheus', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-prom-'));
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(cfg, config.replaceAll('__SELF__', `127.0.0.1:${port}`));
    const proc = startGroup(
      bin,
      [
        `--config.file=${cfg}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
      ],
      { logFile: join(dir, 'prometheus.log'), marker: cfg, dir },
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil('prometheus', () => httpOk(`${url}/-/ready`), {
        timeoutMs: opts.readyTimeoutMs ?? 30_000,
        exited: proc.exited,
        logs: proc.logs,
      });
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return { url, logs: proc.logs, stop: proc.stop };
  });
}
