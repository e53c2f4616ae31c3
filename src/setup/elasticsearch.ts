/**
 * `mcp-ssh-orchestrator setup elasticsearch`: installs the Elasticsearch and Kibana kit of
 * elk/ (ILM policies, component and index templates, ingest pipelines, Kibana saved objects),
 * idempotently, like `filebeat setup`. Every object is PUT whole, so a second run converges to
 * the same state; the `@custom` component templates are created once and never overwritten.
 *
 * It checks first, and says plainly what is wrong: an unreachable URL, refused credentials,
 * a cluster that is not Elasticsearch 8.8 or later, or one without the ingest processors the
 * pipelines use. A cluster without ILM gets everything else, with a note.
 *
 * Plain fetch (Node 20), no HTTP library. Nothing here writes to stdout by itself: output goes
 * through the `out` callback, which the CLI points at stdout (this is not an MCP session).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** One object of the kit: its name (from the file name) and the request body. */
export interface KitObject {
  name: string;
  body: Record<string, unknown>;
}

export interface Kit {
  ilmPolicies: KitObject[];
  /** Managed component templates (overwritten on every run). */
  componentTemplates: KitObject[];
  /** `*@custom` component templates: created empty once, never overwritten. */
  customComponentTemplates: KitObject[];
  /** Ingest pipelines, in install order (called pipelines before their callers). */
  pipelines: KitObject[];
  indexTemplates: KitObject[];
  /** Kibana saved objects (NDJSON), if the kit has them. */
  kibanaNdjson?: string;
}

/** elk/ of this package: ../../elk from src/setup (tsx) and from dist/setup (built). */
export const DEFAULT_KIT_DIR = fileURLToPath(new URL('../../elk/', import.meta.url));

/** The oldest Elasticsearch the kit supports: the reroute processor is 8.8. */
export const MIN_VERSION: readonly [number, number] = [8, 8];

/**
 * The oldest Kibana the saved objects load in: elk/kibana/mcp_ssh.ndjson is written as Kibana
 * 8.9.0 exports (coreMigrationVersion 8.9.0; the Lens and dashboard objects at their 8.9.0
 * migration), and a Kibana older than an object's migration version refuses to import it.
 */
export const KIBANA_MIN_VERSION: readonly [number, number] = [8, 9];

/** Processors the pipelines use; a cluster without one of them cannot run the kit. */
export const REQUIRED_PROCESSORS = ['append', 'json', 'pipeline', 'remove', 'rename', 'reroute', 'script', 'set'];

const ENTRY_PIPELINE = 'logs-mcp_ssh';
const ECS_PIPELINE = 'logs-mcp_ssh-ecs';

function readJsonDir(dir: string): KitObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: basename(f, '.json'),
      body: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>,
    }));
}

/** Reads the kit from `dir` (default: this package's elk/). */
export function loadKit(dir: string = DEFAULT_KIT_DIR): Kit {
  const es = join(dir, 'elasticsearch');
  const components = readJsonDir(join(es, 'component_templates'));
  const pipelines = readJsonDir(join(es, 'ingest_pipelines'));
  // Callees first: per-type pipelines, then the ECS pipeline, then the entry pipeline.
  const rank = (n: string): number => (n === ENTRY_PIPELINE ? 2 : n === ECS_PIPELINE ? 1 : 0);
  pipelines.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  let kibanaNdjson: string | undefined;
  try {
    kibanaNdjson = readFileSync(join(dir, 'kibana', 'mcp_ssh.ndjson'), 'utf8');
  } catch {
    kibanaNdjson = undefined;
  }
  return {
    ilmPolicies: readJsonDir(join(es, 'ilm_policies')),
    componentTemplates: components.filter((c) => !c.name.endsWith('@custom')),
    customComponentTemplates: components.filter((c) => c.name.endsWith('@custom')),
    pipelines,
    indexTemplates: readJsonDir(join(es, 'index_templates')),
    ...(kibanaNdjson !== undefined ? { kibanaNdjson } : {}),
  };
}

/** Leaves out the processor that drops event.original, so every document keeps its line. */
export function keepOriginal(kit: Kit): Kit {
  return {
    ...kit,
    pipelines: kit.pipelines.map((p) => {
      const processors = p.body.processors as Record<string, { tag?: string }>[] | undefined;
      if (!processors) return p;
      const kept = processors.filter((proc) => !Object.values(proc).some((v) => v.tag === 'remove_event_original'));
      return { ...p, body: { ...p.body, processors: kept } };
    }),
  };
}

/** Index templates without `index.lifecycle.name`, for clusters that have no ILM. */
export function withoutLifecycle(kit: Kit): Kit {
  return {
    ...kit,
    ilmPolicies: [],
    indexTemplates: kit.indexTemplates.map((t) => {
      const body = structuredClone(t.body) as { template?: { settings?: { index?: Record<string, unknown> } } };
      delete body.template?.settings?.index?.lifecycle;
      return { ...t, body: body as Record<string, unknown> };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export interface Credentials {
  username?: string;
  password?: string;
  apiKey?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export class HttpClient {
  private readonly base: string;
  constructor(
    base: string,
    private readonly what: string,
    private readonly credentials: Credentials = {},
    private readonly timeoutMs = 15_000,
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    const { username, password, apiKey } = this.credentials;
    if (apiKey) h.authorization = `ApiKey ${apiKey}`;
    else if (username !== undefined)
      h.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    return h;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<HttpResponse> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      const isForm = body instanceof FormData;
      res = await fetch(url, {
        method,
        headers: this.headers(body === undefined || isForm ? extra : { 'content-type': 'application/json', ...extra }),
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SetupError(`cannot reach ${this.what} at ${this.base}: ${describeFetchError(err)}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status === 401) {
      throw new SetupError(
        `${this.what} at ${this.base} refused the credentials (401 Unauthorized): check --username/--password or --api-key`,
      );
    }
    if (res.status === 403) {
      throw new SetupError(
        `${this.what} at ${this.base} says the user may not do ${method} ${path} (403 Forbidden): ${reasonOf(json, text)}. ` +
          'Setup needs the cluster privileges manage_index_templates, manage_pipeline and manage_ilm (or superuser)',
      );
    }
    return { status: res.status, headers: res.headers, text, json };
  }
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer (timed out)';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const hints: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is it running, and are the host and port right?',
    ENOTFOUND: 'host name not found: check the URL',
    EAI_AGAIN: 'host name could not be resolved: check the URL and DNS',
    ECONNRESET: 'the connection was reset: http vs https?',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate: pass --insecure, or trust it with NODE_EXTRA_CA_CERTS',
    SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted: pass --insecure, or trust it with NODE_EXTRA_CA_CERTS',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      'TLS certificate not trusted: pass --insecure, or trust it with NODE_EXTRA_CA_CERTS',
  };
  if (code && hints[code]) return hints[code];
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function reasonOf(json: unknown, text: string): string {
  const e = (json as { error?: { reason?: string; root_cause?: { reason?: string }[] } | string } | undefined)?.error;
  if (typeof e === 'string') return e;
  return e?.root_cause?.[0]?.reason ?? e?.reason ?? (text.slice(0, 300) || 'no details');
}

function parseVersion(v: string): [number, number] {
  const [major = NaN, minor = NaN] = v.split('.').map((n) => Number.parseInt(n, 10));
  return [major, minor];
}

function atLeast(v: string, min: readonly [number, number]): boolean {
  const [major, minor] = parseVersion(v);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch

export interface ClusterInfo {
  version: string;
  ilm: boolean;
  processors: string[];
}

/** Version, ILM and ingest processors of the cluster; throws SetupError if it cannot run the kit. */
export async function inspectCluster(es: HttpClient, url: string): Promise<ClusterInfo> {
  let version: string | undefined;
  const root = await es.request('GET', '/');
  const info = root.json as { version?: { number?: string; distribution?: string } } | undefined;
  if (root.status === 200 && info?.version?.distribution === 'opensearch') {
    throw new SetupError(
      `${url} is OpenSearch ${info.version.number ?? ''}, not Elasticsearch: the kit needs Elasticsearch ${MIN_VERSION.join('.')} or later`,
    );
  }
  if (root.status === 200) version = info?.version?.number;
  if (version === undefined) {
    // Minimal distributions (and some proxies) do not serve GET /: ask the nodes.
    const nodes = await es.request('GET', '/_nodes/_local?filter_path=nodes.*.version');
    const found = Object.values((nodes.json as { nodes?: Record<string, { version?: string }> })?.nodes ?? {})[0];
    version = found?.version;
  }
  if (version === undefined) {
    throw new SetupError(`${url} does not answer like Elasticsearch (GET / gave HTTP ${root.status}): check the URL`);
  }
  if (!atLeast(version, MIN_VERSION)) {
    throw new SetupError(
      `${url} runs Elasticsearch ${version}, which is not supported: the kit needs ${MIN_VERSION.join('.')} or later ` +
        '(data streams, composable templates, the reroute processor)',
    );
  }
  const ingest = await es.request('GET', '/_nodes/_local/ingest?filter_path=nodes.*.ingest.processors');
  const node = Object.values(
    (ingest.json as { nodes?: Record<string, { ingest?: { processors?: { type: string }[] } }> })?.nodes ?? {},
  )[0];
  const processors = (node?.ingest?.processors ?? []).map((p) => p.type);
  const missing = REQUIRED_PROCESSORS.filter((p) => !processors.includes(p));
  if (missing.length > 0) {
    throw new SetupError(
      `Elasticsearch ${version} at ${url} lacks the ingest processors ${missing.join(', ')}: ` +
        'the pipelines need the default distribution (ingest-common and painless modules) on an ingest node',
    );
  }
  const ilm = (await es.request('GET', '/_ilm/status')).status === 200;
  return { version, ilm, processors };
}

export type Action = 'created' | 'updated' | 'kept' | 'skipped' | 'imported';

export interface InstallStep {
  kind: 'ilm policy' | 'component template' | 'ingest pipeline' | 'index template' | 'kibana saved objects';
  name: string;
  action: Action;
  note?: string;
}

async function exists(es: HttpClient, path: string): Promise<boolean> {
  const r = await es.request('GET', path);
  return r.status === 200;
}

async function put(es: HttpClient, path: string, body: unknown, what: string): Promise<void> {
  const r = await es.request('PUT', path, body);
  if (r.status < 200 || r.status >= 300) {
    throw new SetupError(`Elasticsearch refused ${what} (HTTP ${r.status}): ${reasonOf(r.json, r.text)}`);
  }
}

/**
 * Installs the kit in order (ILM policies, component templates, pipelines, index templates).
 * Idempotent: managed objects are replaced whole; `@custom` component templates are created
 * only when absent.
 */
export async function installKit(es: HttpClient, kit: Kit): Promise<InstallStep[]> {
  const steps: InstallStep[] = [];
  const upsert = async (kind: InstallStep['kind'], path: string, o: KitObject): Promise<void> => {
    const had = await exists(es, path);
    await put(es, path, o.body, `${kind} ${o.name}`);
    steps.push({ kind, name: o.name, action: had ? 'updated' : 'created' });
  };
  for (const p of kit.ilmPolicies) await upsert('ilm policy', `/_ilm/policy/${p.name}`, p);
  for (const c of kit.componentTemplates) await upsert('component template', `/_component_template/${c.name}`, c);
  for (const c of kit.customComponentTemplates) {
    const path = `/_component_template/${encodeURIComponent(c.name)}`;
    if (await exists(es, path)) {
      steps.push({ kind: 'component template', name: c.name, action: 'kept', note: 'yours; never overwritten' });
    } else {
      await put(es, `${path}?create=true`, c.body, `component template ${c.name}`);
      steps.push({ kind: 'component template', name: c.name, action: 'created' });
    }
  }
  for (const p of kit.pipelines) await upsert('ingest pipeline', `/_ingest/pipeline/${p.name}`, p);
  for (const t of kit.indexTemplates) await upsert('index template', `/_index_template/${t.name}`, t);
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Kibana

export async function importKibana(
  kibana: HttpClient,
  url: string,
  ndjson: string,
  space?: string,
): Promise<InstallStep> {
  const prefix = space ? `/s/${encodeURIComponent(space)}` : '';
  const status = await kibana.request('GET', '/api/status');
  const version = (status.json as { version?: { number?: string } } | undefined)?.version?.number;
  if (status.status !== 200 || version === undefined) {
    throw new SetupError(`${url} does not answer like Kibana (GET /api/status gave HTTP ${status.status})`);
  }
  if (!atLeast(version, KIBANA_MIN_VERSION)) {
    throw new SetupError(
      `${url} runs Kibana ${version}: the saved objects need Kibana ${KIBANA_MIN_VERSION.join('.')} or later ` +
        '(upgrade Kibana, or leave out --kibana-url and install only the Elasticsearch part)',
    );
  }
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'mcp_ssh.ndjson');
  const r = await kibana.request('POST', `${prefix}/api/saved_objects/_import?overwrite=true`, form, {
    'kbn-xsrf': 'mcp-ssh-orchestrator',
  });
  const body = r.json as {
    success?: boolean;
    successCount?: number;
    errors?: { id: string; error: { type: string } }[];
  };
  if (r.status !== 200 || body?.success !== true) {
    const errors = (body?.errors ?? []).map((e) => `${e.id}: ${e.error.type}`).join('; ');
    throw new SetupError(`Kibana refused the saved objects (HTTP ${r.status}): ${errors || reasonOf(r.json, r.text)}`);
  }
  return {
    kind: 'kibana saved objects',
    name: 'mcp_ssh.ndjson',
    action: 'imported',
    note: `${body.successCount ?? 0} objects, Kibana ${version}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Command line

export const SETUP_HELP = `Usage: mcp-ssh-orchestrator setup elasticsearch --url URL [options]

Installs the Elasticsearch kit (ILM policies, component and index templates for the
logs-mcp_ssh.{audit,security,operational}-* data streams, ingest pipelines) and, with
--kibana-url, the Kibana data views, saved searches and dashboard (Kibana 8.9 or later).
Safe to run again.

Options:
  --url URL               Elasticsearch, e.g. https://localhost:9200 (env ELASTICSEARCH_URL)
  --kibana-url URL        Kibana, e.g. http://localhost:5601 (env KIBANA_URL); omitted: no Kibana objects
  --kibana-space ID       Kibana space to import into (default: the default space)
  --username NAME         basic authentication (env ELASTICSEARCH_USERNAME)
  --password PASS         (env ELASTICSEARCH_PASSWORD)
  --api-key KEY           API key, the base64 "encoded" form (env ELASTICSEARCH_API_KEY)
  --insecure              do not verify TLS certificates (test clusters only)
  --keep-original         keep every line in event.original (otherwise only documents
                          tagged preserve_original_event keep it)
  --kit-dir DIR           read the kit from DIR instead of this package's elk/
  -h, --help              show this help

Exit status: 0 installed; 1 the cluster cannot take the kit (the message says why); 2 usage error.
`;

export interface SetupIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * Entry point of `mcp-ssh-orchestrator setup ...`; argv starts after `setup`
 * (e.g. ['elasticsearch', '--url', 'http://localhost:9200']). Returns the exit status.
 */
export async function runSetupCommand(argv: string[], io: SetupIo): Promise<number> {
  const env = io.env ?? process.env;
  const { out, err } = io;
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'kibana-url': { type: 'string' },
        'kibana-space': { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        'api-key': { type: 'string' },
        insecure: { type: 'boolean' },
        'keep-original': { type: 'boolean' },
        'kit-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err(`setup: ${(e as Error).message}\n\n${SETUP_HELP}`);
    return 2;
  }
  if (values.help) {
    out(SETUP_HELP);
    return 0;
  }
  const target = positionals[0];
  if (target !== 'elasticsearch') {
    err(
      `setup: ${target === undefined ? 'what to set up is missing' : `unknown target "${target}"`}: expected "setup elasticsearch"\n\n${SETUP_HELP}`,
    );
    return 2;
  }
  const str = (k: string, envName: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' && v !== '' ? v : env[envName] || undefined;
  };
  const url = str('url', 'ELASTICSEARCH_URL');
  if (!url) {
    err(`setup: --url is required (or ELASTICSEARCH_URL)\n\n${SETUP_HELP}`);
    return 2;
  }
  const kibanaUrl = str('kibana-url', 'KIBANA_URL');
  const credentials: Credentials = {};
  const apiKey = str('api-key', 'ELASTICSEARCH_API_KEY');
  const username = str('username', 'ELASTICSEARCH_USERNAME');
  const password = str('password', 'ELASTICSEARCH_PASSWORD');
  if (apiKey && username) {
    err('setup: give either --username/--password or --api-key, not both\n');
    return 2;
  }
  if (apiKey) credentials.apiKey = apiKey;
  if (username) {
    credentials.username = username;
    credentials.password = password ?? '';
  }
  if (values.insecure === true) {
    // fetch has no per-request TLS switch; this process makes no other connections.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    err('setup: --insecure: TLS certificates are not verified\n');
  }
  try {
    let kit = loadKit(typeof values['kit-dir'] === 'string' ? values['kit-dir'] : DEFAULT_KIT_DIR);
    if (values['keep-original'] === true) kit = keepOriginal(kit);
    const es = new HttpClient(url, 'Elasticsearch', credentials);
    const cluster = await inspectCluster(es, url);
    out(`Elasticsearch ${cluster.version} at ${url}\n`);
    if (!cluster.ilm) {
      out(
        '  note: this cluster has no index lifecycle management (ILM): the ILM policies are skipped and the ' +
          'templates carry no index.lifecycle.name, so retention is not managed. Install on a cluster with ILM ' +
          '(any licence, basic included) to get the audit/security/operational retention tiers.\n',
      );
      kit = withoutLifecycle(kit);
    }
    for (const s of await installKit(es, kit)) {
      out(`  ${s.action.padEnd(8)} ${s.kind} ${s.name}${s.note ? ` (${s.note})` : ''}\n`);
    }
    if (kibanaUrl) {
      if (!kit.kibanaNdjson) throw new SetupError('the kit has no Kibana saved objects (elk/kibana/mcp_ssh.ndjson)');
      const kibana = new HttpClient(kibanaUrl, 'Kibana', credentials);
      const space = typeof values['kibana-space'] === 'string' ? values['kibana-space'] : undefined;
      const s = await importKibana(kibana, kibanaUrl, kit.kibanaNdjson, space);
      out(`  ${s.action.padEnd(8)} ${s.kind} ${s.name} (${s.note ?? ''})\n`);
    } else {
      out('  (no --kibana-url: Kibana saved objects not imported)\n');
    }
    out(
      'Done. Send stderr lines to the data stream logs-mcp_ssh-<namespace> (Logstash, Filebeat, the OTel Collector): ' +
        'the pipelines route them to logs-mcp_ssh.{audit,security,operational}-<namespace>.\n',
    );
    return 0;
  } catch (e) {
    if (e instanceof SetupError) {
      err(`setup failed: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
