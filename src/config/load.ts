/**
 * Loads servers.yml, credentials.yml and policy.yml from the config directory, validates
 * each against its schema and against the others, and returns a complete config or throws
 * a ConfigError listing every problem found: never a partial config.
 *
 * The work (reading, YAML parsing, validation) runs on the config thread (off-thread.ts), so a
 * large config does not hold the event loop; only installing the result happens here, in slices.
 */
import path from 'node:path';
import type { Document, Node as YamlNode } from 'yaml';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { EventEmitter } from '../telemetry/events.js';
import type { ConfigIssue, Locate, Position } from './errors.js';
import { ConfigError, configErrorMap, formatPath, issuesFromZod } from './errors.js';
import { MissingFileError, UnsafePathError, checkKeyFile, readRegularFile, validateSecretName } from './safe-paths.js';
import { ThreadUnavailableError, configThread, unpackConfig } from './off-thread.js';
import type { CredentialConfig, HostConfig, PolicyFile } from './schema.js';
import { POLICY_LIMITS, credentialsFileSchema, policyFileSchema, serversFileSchema } from './schema.js';

export interface ConfigDirs {
  configDir: string;
  keysDir: string;
  secretsDir: string;
}

/** Absolute config, keys and secrets directories; keys/ and secrets/ default to siblings of the config dir. */
export function resolveConfigDirs(opts: { configDir?: string; env?: NodeJS.ProcessEnv }): ConfigDirs {
  const env = opts.env ?? process.env;
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const configDir = path.resolve(nonEmpty(opts.configDir) ?? nonEmpty(env.MCP_SSH_CONFIG_DIR) ?? './config');
  return {
    configDir,
    keysDir: path.resolve(nonEmpty(env.MCP_SSH_KEYS_DIR) ?? path.join(configDir, '..', 'keys')),
    secretsDir: path.resolve(nonEmpty(env.MCP_SSH_SECRETS_DIR) ?? path.join(configDir, '..', 'secrets')),
  };
}

export interface LoadedConfig {
  dirs: ConfigDirs;
  /** In servers.yml order. */
  hosts: HostConfig[];
  hostsByAlias: ReadonlyMap<string, HostConfig>;
  credentials: ReadonlyMap<string, CredentialConfig>;
  policy: PolicyFile;
  /** policy.known_hosts_path (relative to the config dir) or `<keysDir>/known_hosts`. */
  knownHostsPath: string;
  loadedAt: Date;
  /**
   * What loads but deserves a word: keys the Python server accepted whose weakening values are
   * ignored here, files a deployment provides later (a key, known_hosts), missing optional files.
   * Each becomes one `config_warning` line at start and reload, and a line of `check`.
   */
  warnings: ConfigIssue[];
}

const SERVERS = 'servers.yml';
const CREDENTIALS = 'credentials.yml';
const POLICY = 'policy.yml';
const FILE_ORDER = [SERVERS, CREDENTIALS, POLICY];

const HOW_TO_CREATE: Record<string, string> = {
  [SERVERS]: 'create it with a "hosts:" list of hosts (an empty list is "hosts: []")',
  [CREDENTIALS]: 'create it with an "entries:" list of credentials (an empty list is "entries: []")',
  [POLICY]: 'create it with your "rules:" (an empty file means default limits and no allow rules)',
};

/** Files the Python server reads as empty when they are missing. */
const OPTIONAL_FILES = new Set([CREDENTIALS, POLICY]);
const EMPTY_MEANING: Record<string, string> = {
  [CREDENTIALS]: 'no credentials: hosts that name one fail at connect',
  [POLICY]: 'default limits, the built-in deny list and no allow rules: every command is denied',
};

/** Aliases nested deeper than this are refused: a few anchors are handy, thousands are a YAML bomb. */
const MAX_YAML_ALIAS_COUNT = 50;

/** A config error lists at most this many problems, then says how many more there are. */
export const MAX_LISTED_ISSUES = 100;

/** Where the size limits are explained. */
const LIMITS_DOC = 'see "Size limits" in docs/policy.md';

function mib(bytes: number, digits: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(digits)} MiB`;
}

/** One YAML file after parsing: its data before schema validation, and how to locate paths in it. */
interface ParsedFile {
  file: string;
  raw: unknown;
  locate: Locate;
}

/** A parsed file and, if it passed its schema, the validated value. */
interface LoadedFile<T> extends ParsedFile {
  value: T | undefined;
}

function resolveAliasNode(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function startOf(node: unknown): number | undefined {
  return node && typeof node === 'object' && 'range' in node ? (node as YamlNode).range?.[0] : undefined;
}

function makeLocator(doc: Document, lines: LineCounter): Locate {
  const toPosition = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  return (docPath, at = 'value') => {
    let node = resolveAliasNode(doc.contents, doc);
    let offset = startOf(node) ?? 0;
    for (const [i, segment] of docPath.entries()) {
      const last = i === docPath.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        const keyOffset = startOf(pair.key);
        const value = pair.value;
        // An empty value (`port:`) has a zero-width range after the colon; the key is a better spot.
        const emptyValue = !value || (isScalar(value) && value.range?.[0] === value.range?.[1]);
        offset = (last && at === 'key') || emptyValue ? (keyOffset ?? offset) : (startOf(value) ?? offset);
        node = resolveAliasNode(value, doc);
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        offset = startOf(item) ?? offset;
        node = resolveAliasNode(item, doc);
      } else break;
    }
    return toPosition(offset);
  };
}

/** Duplicate keys, reported with their path (the yaml package's own error points near the map). */
function duplicateKeyIssues(doc: Document, lines: LineCounter, file: string, locate: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const visit = (node: unknown, nodePath: PropertyKey[]): void => {
    if (isSeq(node)) node.items.forEach((item, index) => visit(item, [...nodePath, index]));
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      const keyPath = [...nodePath, key];
      if (!seen.has(key)) {
        seen.add(key);
        visit(pair.value, keyPath);
        continue;
      }
      // locate() finds the first pair with this key, i.e. the original definition.
      const first = locate(keyPath, 'key');
      const { line, col } = lines.linePos(startOf(pair.key) ?? 0);
      const firstAt = first ? ` at line ${first.line}` : '';
      issues.push({
        file,
        line,
        column: col,
        path: formatPath(keyPath),
        message: `duplicate key "${key}": already defined${firstAt}`,
      });
    }
  };
  visit(doc.contents, []);
  return issues;
}

/** Reads and parses one YAML file; on failure records issues and returns undefined. */
async function parseYamlFile(
  file: string,
  dirs: ConfigDirs,
  emitter: EventEmitter,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): Promise<ParsedFile | undefined> {
  const filePath = path.join(dirs.configDir, file);
  let text: string;
  try {
    const bytes = await readRegularFile(
      {
        filePath,
        baseDir: dirs.configDir,
        attempted: filePath,
        label: filePath,
        missingMessage: `not found at ${filePath}: ${HOW_TO_CREATE[file] ?? 'create it'}`,
      },
      emitter,
    );
    if (file === POLICY && bytes.length > POLICY_LIMITS.bytes) {
      issues.push({
        file,
        path: '',
        message:
          `the file is ${bytes.length} bytes (${mib(bytes.length, 2)}): expected at most ${POLICY_LIMITS.bytes} bytes ` +
          `(${mib(POLICY_LIMITS.bytes, 0)}), the limit for ${POLICY}. A policy this large is usually generated with ` +
          'a rule per host or per command: let one rule cover many hosts (aliases: ["web-*"], tags) and many ' +
          `commands (globs such as "systemctl status *"); ${LIMITS_DOC}`,
      });
      return undefined;
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof MissingFileError && OPTIONAL_FILES.has(file)) {
      // As in the Python server: no credentials.yml or policy.yml reads as an empty one.
      warnings.push({ file, path: '', message: `${error.message}; read as empty (${EMPTY_MEANING[file]})` });
      return { file, raw: {}, locate: () => undefined };
    }
    if (error instanceof MissingFileError || error instanceof UnsafePathError) {
      issues.push({ file, path: '', message: error.message });
      return undefined;
    }
    throw error;
  }

  const lines = new LineCounter();
  // uniqueKeys off: duplicateKeyIssues reports duplicates with their path instead.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      issues.push({ file, line, column: col, path: '', message: `invalid YAML: ${error.message}` });
    }
    return undefined;
  }
  const locate = makeLocator(doc, lines);
  const duplicates = duplicateKeyIssues(doc, lines, file, locate);
  if (duplicates.length > 0) {
    issues.push(...duplicates);
    return undefined;
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError) {
      issues.push({
        file,
        path: '',
        message: `too many YAML aliases (more than ${MAX_YAML_ALIAS_COUNT} expansions): write the values out instead`,
      });
      return undefined;
    }
    throw error;
  }
  // An empty or comments-only file is an empty mapping, so schema defaults apply.
  return { file, raw: raw ?? {}, locate };
}

async function loadFile<S extends z.ZodType>(
  file: string,
  schema: S,
  dirs: ConfigDirs,
  emitter: EventEmitter,
  issues: ConfigIssue[],
  warnings: ConfigIssue[],
): Promise<LoadedFile<z.infer<S>> | undefined> {
  const parsed = await parseYamlFile(file, dirs, emitter, issues, warnings);
  if (!parsed) return undefined;
  // Counted before the schema, whose cost grows with what it counts.
  const oversize = file === POLICY ? policySizeIssues(parsed) : [];
  if (oversize.length > 0) {
    issues.push(...oversize);
    return { ...parsed, value: undefined };
  }
  const result = schema.safeParse(parsed.raw, { error: configErrorMap });
  if (result.success) return { ...parsed, value: result.data };
  issues.push(...issuesFromZod(result.error, file, parsed.raw, parsed.locate));
  return { ...parsed, value: undefined };
}

// ---- cross-file checks, run on the raw data so they still report when a schema check failed ----

type RawRecord = Record<string, unknown>;

function isRecord(value: unknown): value is RawRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** True when `raw[key]` is a list, or absent (the schema then defaults it to an empty list). */
function hasList(raw: unknown, key: string): boolean {
  return isRecord(raw) && (raw[key] === undefined || Array.isArray(raw[key]));
}

/** The mappings in the list at `raw[key]`, with their indexes; non-mappings are the schema's business. */
function listItems(raw: unknown, key: string): { index: number; item: RawRecord }[] {
  const list = isRecord(raw) ? raw[key] : undefined;
  if (!Array.isArray(list)) return [];
  return list.flatMap((item: unknown, index) => (isRecord(item) ? [{ index, item }] : []));
}

function issueAt(
  parsed: ParsedFile,
  docPath: PropertyKey[],
  message: string,
  at: 'value' | 'key' = 'value',
): ConfigIssue {
  return { file: parsed.file, ...parsed.locate(docPath, at), path: formatPath(docPath), message };
}

/** Reports repeats of the string field `field` among the items of list `listKey`. */
function duplicateFieldIssues(parsed: ParsedFile, listKey: string, field: string, what: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const firstIndex = new Map<string, number>();
  for (const { index, item } of listItems(parsed.raw, listKey)) {
    const value = item[field];
    if (typeof value !== 'string') continue;
    const first = firstIndex.get(value);
    if (first === undefined) {
      firstIndex.set(value, index);
      continue;
    }
    const firstAt = parsed.locate([listKey, first, field]);
    issues.push(
      issueAt(
        parsed,
        [listKey, index, field],
        `duplicate ${what} "${value}": already used by ${listKey}[${first}]${firstAt ? ` at line ${firstAt.line}` : ''}`,
      ),
    );
  }
  return issues;
}

function stringValues(items: { item: RawRecord }[], field: string): Set<string> {
  return new Set(items.flatMap(({ item }) => (typeof item[field] === 'string' ? [item[field]] : [])));
}

function listOrNone(values: Iterable<string>): string {
  const list = [...values];
  return list.length === 0 ? 'none' : list.join(', ');
}

function checkServers(servers: ParsedFile, credentials: ParsedFile | undefined): ConfigIssue[] {
  const issues = duplicateFieldIssues(servers, 'hosts', 'alias', 'alias');
  // Without a readable list of entries every reference would look unknown: its own issue says why.
  if (!credentials || !hasList(credentials.raw, 'entries')) return issues;
  const known = stringValues(listItems(credentials.raw, 'entries'), 'name');
  for (const { index, item } of listItems(servers.raw, 'hosts')) {
    const ref = item.credentials;
    if (typeof ref !== 'string' || ref === '' || known.has(ref)) continue;
    issues.push(
      issueAt(
        servers,
        ['hosts', index, 'credentials'],
        `unknown credentials "${ref}": expected the name of an entry in ${CREDENTIALS} (defined: ${listOrNone(known)})`,
      ),
    );
  }
  return issues;
}

const SECRET_FIELDS = ['key_passphrase_secret', 'password_secret'] as const;

/**
 * Secret names and key paths are checked now, so an unsafe name or path (traversal, a symlink
 * leading outside, a directory) fails at startup rather than at first use. A key file that does
 * not exist yet is only a warning pushed onto `warnings`, as the Python server has it: the key is
 * read at each connection, so hosts using it fail to connect until the file is there.
 */
async function checkCredentials(
  credentials: ParsedFile,
  dirs: ConfigDirs,
  emitter: EventEmitter,
  warnings: ConfigIssue[],
): Promise<ConfigIssue[]> {
  const issues = duplicateFieldIssues(credentials, 'entries', 'name', 'credentials name');
  for (const { index, item } of listItems(credentials.raw, 'entries')) {
    for (const field of SECRET_FIELDS) {
      const name = item[field];
      if (typeof name !== 'string' || name === '') continue;
      try {
        validateSecretName(name, dirs, emitter);
      } catch (error) {
        if (!(error instanceof UnsafePathError)) throw error;
        issues.push(issueAt(credentials, ['entries', index, field], error.message));
      }
    }
    const keyPath = item.key_path;
    if (typeof keyPath !== 'string' || keyPath === '') continue;
    try {
      await checkKeyFile(keyPath, dirs, emitter);
    } catch (error) {
      if (error instanceof MissingFileError) {
        const who = typeof item.name === 'string' ? `credentials ${JSON.stringify(item.name)}` : 'these credentials';
        warnings.push(
          issueAt(
            credentials,
            ['entries', index, 'key_path'],
            `${error.message}. The server starts anyway, but hosts using ${who} cannot connect until the file ` +
              'exists (it is read at each connection: no reload needed)',
          ),
        );
      } else if (error instanceof UnsafePathError) {
        issues.push(issueAt(credentials, ['entries', index, 'key_path'], error.message));
      } else {
        throw error;
      }
    }
  }
  return issues;
}

function listLength(raw: unknown, key: string): number {
  const list = isRecord(raw) ? raw[key] : undefined;
  return Array.isArray(list) ? list.length : 0;
}

const RULE_PATTERN_LISTS = ['commands', 'aliases', 'tags', 'write_paths'] as const;
const NETWORK_LISTS = ['allow_ips', 'allow_cidrs', 'block_ips', 'block_cidrs'] as const;

/** POLICY_LIMITS on rules, patterns and network addresses, counted on the parsed YAML. */
function policySizeIssues(policy: ParsedFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const raw = policy.raw;
  const rules = listLength(raw, 'rules');
  if (rules > POLICY_LIMITS.rules) {
    issues.push(
      issueAt(
        policy,
        ['rules'],
        `${rules} rules: expected at most ${POLICY_LIMITS.rules} (real policies have tens to a few hundred). ` +
          'Merge rules that differ only in their hosts or commands: one rule takes many aliases, tags and ' +
          `command globs; ${LIMITS_DOC}`,
        'key',
      ),
    );
  }
  // The patterns you wrote (not the defaults); the longest list is named to say where to start.
  const limits = isRecord(raw) ? raw.limits : undefined;
  let patterns = listLength(limits, 'deny_substrings');
  let longest: { path: PropertyKey[]; length: number } = { path: ['limits', 'deny_substrings'], length: patterns };
  for (const { index, item } of listItems(raw, 'rules')) {
    for (const key of RULE_PATTERN_LISTS) {
      const length = listLength(item, key);
      patterns += length;
      if (length > longest.length) longest = { path: ['rules', index, key], length };
    }
  }
  if (patterns > POLICY_LIMITS.patterns) {
    issues.push(
      issueAt(
        policy,
        longest.path,
        `${patterns} patterns in all (entries of every rule's ${RULE_PATTERN_LISTS.join(', ')} and of ` +
          `limits.deny_substrings): expected at most ${POLICY_LIMITS.patterns}; this list has the most ` +
          `(${longest.length}). One glob covers many commands ("systemctl status *") or hosts ("web-*"); ${LIMITS_DOC}`,
        'key',
      ),
    );
  }
  const network = isRecord(raw) ? raw.network : undefined;
  const addresses = NETWORK_LISTS.reduce((sum, key) => sum + listLength(network, key), 0);
  if (addresses > POLICY_LIMITS.networkAddresses) {
    issues.push(
      issueAt(
        policy,
        ['network'],
        `${addresses} entries in ${NETWORK_LISTS.join(', ')} together: expected at most ` +
          `${POLICY_LIMITS.networkAddresses} (every connection is checked against each one). ` +
          `Use CIDR blocks (10.0.0.0/8) for ranges of addresses; ${LIMITS_DOC}`,
        'key',
      ),
    );
  }
  return issues;
}

/**
 * Duplicate rule ids are errors. Overrides for an alias servers.yml does not define are a
 * warning: they apply to no host (likely a typo), and the Python server loads such files (its
 * own examples have them), so they must load here too.
 */
function checkPolicy(policy: ParsedFile, servers: ParsedFile | undefined, warnings: ConfigIssue[]): ConfigIssue[] {
  const issues = duplicateFieldIssues(policy, 'rules', 'id', 'rule id');
  if (!servers || !hasList(servers.raw, 'hosts')) return issues;
  const aliases = stringValues(listItems(servers.raw, 'hosts'), 'alias');
  const overrides = isRecord(policy.raw) ? policy.raw.overrides : undefined;
  const byAlias = isRecord(overrides) ? overrides.aliases : undefined;
  if (!isRecord(byAlias)) return issues;
  for (const alias of Object.keys(byAlias)) {
    if (aliases.has(alias)) continue;
    warnings.push(
      issueAt(
        policy,
        ['overrides', 'aliases', alias],
        `unknown alias "${alias}": no host in ${SERVERS} has it, so these overrides apply to no host (a typo leaves that host on the default limits)`,
        'key',
      ),
    );
  }
  return issues;
}

/**
 * Keys the Python server accepts and ignores when they would weaken host-key checking: kept
 * strict here too, with one warning each (never an error: its files must load as they are).
 */
const WEAKENING_VALUES: readonly { key: string; weak: boolean; why: string }[] = [
  { key: 'host_key_auto_add', weak: true, why: 'unknown host keys are never added' },
  { key: 'require_known_host', weak: false, why: 'every host must be in known_hosts' },
];

function ignoredKeyWarnings(policy: ParsedFile): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  const raw = isRecord(policy.raw) ? policy.raw : {};
  const places: PropertyKey[][] = [[], ['limits'], ['limits', 'default'], ['network']];
  const limits = isRecord(raw.limits) ? raw.limits : {};
  if (Array.isArray(limits.overrides)) limits.overrides.forEach((_, i) => places.push(['limits', 'overrides', i]));
  const overrides = isRecord(raw.overrides) ? raw.overrides : {};
  for (const kind of ['aliases', 'tags']) {
    const entries = overrides[kind];
    if (isRecord(entries)) for (const name of Object.keys(entries)) places.push(['overrides', kind, name]);
  }
  for (const place of places) {
    let node: unknown = raw;
    for (const segment of place)
      node = isRecord(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[segment] : undefined;
    if (!isRecord(node)) continue;
    for (const { key, weak, why } of WEAKENING_VALUES) {
      if (node[key] !== weak) continue;
      warnings.push(
        issueAt(
          policy,
          [...place, key],
          `${key}: ${String(weak)} is ignored: host keys are always verified (${why}); the Python server ignores it too — remove the key`,
        ),
      );
    }
  }
  // Keys the Python docs show where its server never reads them: not applied here either.
  const unread: { place: PropertyKey[]; use: string }[] = [
    { place: ['deny_substrings'], use: 'limits.deny_substrings' },
    { place: ['network', 'allow'], use: 'network.allow_cidrs / allow_ips' },
    { place: ['network', 'deny'], use: 'network.block_cidrs / block_ips' },
  ];
  for (const { place, use } of unread) {
    const parent = place.length === 1 ? raw : isRecord(raw.network) ? raw.network : {};
    const key = place[place.length - 1] as string;
    if (!Object.hasOwn(parent, key)) continue;
    warnings.push(
      issueAt(
        policy,
        place,
        `${place.join('.')} is not read (the Python server ignores it too), so it has no effect; to apply it, write it as ${use}`,
      ),
    );
  }
  return warnings;
}

function byFileAndPosition(a: ConfigIssue, b: ConfigIssue): number {
  const fileOrder = (f: string): number => {
    const i = FILE_ORDER.indexOf(f);
    return i === -1 ? FILE_ORDER.length : i;
  };
  return fileOrder(a.file) - fileOrder(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

function resolveKnownHostsPath(policy: PolicyFile, dirs: ConfigDirs): string {
  if (policy.known_hosts_path === undefined) return path.join(dirs.keysDir, 'known_hosts');
  return path.resolve(dirs.configDir, policy.known_hosts_path);
}

/** The first MAX_LISTED_ISSUES issues, then one that counts the rest. */
function listedIssues(issues: ConfigIssue[]): ConfigIssue[] {
  if (issues.length <= MAX_LISTED_ISSUES) return issues;
  const rest = issues.slice(MAX_LISTED_ISSUES);
  return [
    ...issues.slice(0, MAX_LISTED_ISSUES),
    {
      file: [...new Set(rest.map((i) => i.file))].join(', '),
      path: '',
      message: `${rest.length} more problems not listed (only the first ${MAX_LISTED_ISSUES} are): fix these and check again`,
    },
  ];
}

export interface LoadOptions {
  /**
   * False: load on this thread, saving the config thread's start-up (~0.1 s) where nothing
   * else is being served yet (start-up, `check`). Default true.
   */
  offThread?: boolean;
}

/**
 * Loads and validates the whole configuration; throws ConfigError listing every issue found.
 * The work runs on the config thread; if no thread can run here, in-line (loadConfigHere).
 */
export async function loadConfig(
  dirs: ConfigDirs,
  emitter: EventEmitter,
  options: LoadOptions = {},
): Promise<LoadedConfig> {
  if (options.offThread === false) return loadConfigHere(dirs, emitter);
  let packed;
  try {
    packed = await configThread.load(dirs, emitter);
  } catch (error) {
    if (error instanceof ThreadUnavailableError) return loadConfigHere(dirs, emitter);
    throw error;
  }
  return unpackConfig(packed, dirs);
}

/** loadConfig, done entirely on the calling thread (the config thread runs this). */
export async function loadConfigHere(dirs: ConfigDirs, emitter: EventEmitter): Promise<LoadedConfig> {
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const servers = await loadFile(SERVERS, serversFileSchema, dirs, emitter, issues, warnings);
  const credentials = await loadFile(CREDENTIALS, credentialsFileSchema, dirs, emitter, issues, warnings);
  const policy = await loadFile(POLICY, policyFileSchema, dirs, emitter, issues, warnings);

  if (servers) issues.push(...checkServers(servers, credentials));
  if (credentials) issues.push(...(await checkCredentials(credentials, dirs, emitter, warnings)));
  if (policy) issues.push(...checkPolicy(policy, servers, warnings));
  if (policy?.value) warnings.push(...ignoredKeyWarnings(policy));

  if (issues.length > 0 || !servers?.value || !credentials?.value || !policy?.value) {
    throw new ConfigError(listedIssues(issues.sort(byFileAndPosition)));
  }

  const hosts = servers.value.hosts;
  return {
    dirs,
    hosts,
    hostsByAlias: new Map(hosts.map((h) => [h.alias, h])),
    credentials: new Map(credentials.value.entries.map((c) => [c.name, c])),
    policy: policy.value,
    knownHostsPath: resolveKnownHostsPath(policy.value, dirs),
    loadedAt: new Date(),
    warnings: warnings.sort(byFileAndPosition),
  };
}
