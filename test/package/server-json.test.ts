/**
 * server.json, the entry the MCP registry lists, checked by the registry's own validator
 * (scripts/engines/mcp-registry.sh builds it from the registry's Go module: the published
 * schema the file's $schema names, embedded at the pinned registry version, plus the semantic
 * rules publishing applies). The part of publishing that needs the package on npm — the
 * published package's `mcpName` must equal the server name — is checked here against
 * package.json, together with what the entry promises about the command: every argument it
 * documents is an option of the built CLI, every variable one the code reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/mcp-session.js';
import { REPO_ROOT, requireEngine } from '../stack/engines.js';

interface Issue {
  type: string;
  path: string;
  message: string;
  severity: string;
  reference: string;
}
interface Report {
  file: string;
  valid: boolean;
  error?: string;
  issues: Issue[];
}
interface ServerJson {
  $schema: string;
  name: string;
  description: string;
  version: string;
  packages: {
    registryType: string;
    identifier: string;
    version: string;
    packageArguments?: { type: string; name: string }[];
    environmentVariables?: { name: string }[];
  }[];
}

const SERVER_JSON_PATH = path.join(REPO_ROOT, 'server.json');
const serverJson = JSON.parse(readFileSync(SERVER_JSON_PATH, 'utf8')) as ServerJson;
const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  mcpName?: string;
};

const validator = requireEngine('mcp-registry');
const work = mkdtempSync(path.join(tmpdir(), 'server-json-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function validate(files: string[]): { code: number | null; reports: Report[] } {
  const r = spawnSync(validator!.path, files, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  const reports = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Report);
  return { code: r.status, reports };
}

/** A copy of server.json with one change, written to a file of its own. */
function mutant(label: string, change: (s: ServerJson) => void): string {
  const copy = structuredClone(serverJson);
  change(copy);
  const file = path.join(work, `${label}.json`);
  writeFileSync(file, JSON.stringify(copy, null, 2));
  return file;
}

describe.skipIf(!validator)("server.json against the MCP registry's validator", () => {
  it(`passes with no issue at all (${validator?.info.module ?? ''})`, () => {
    const { code, reports } = validate([SERVER_JSON_PATH]);
    expect(reports).toHaveLength(1);
    const [report] = reports as [Report];
    expect(report.issues, JSON.stringify(report.issues, null, 2)).toEqual([]);
    expect(report.valid).toBe(true);
    expect(code).toBe(0);
  });

  // The oracle must be able to say no: each change breaks one rule, and the validator names the
  // field it broke. Run together, one process, one report line per file.
  it('refuses each broken copy, naming the field', () => {
    const cases: { label: string; change: (s: ServerJson) => void; path: string }[] = [
      { label: 'long-description', change: (s) => (s.description = 'x'.repeat(101)), path: 'description' },
      { label: 'no-namespace', change: (s) => (s.name = 'mcp-ssh-orchestrator'), path: 'name' },
      { label: 'version-range', change: (s) => (s.packages[0]!.version = '^0.1.0'), path: 'packages[0].version' },
      { label: 'latest', change: (s) => (s.version = 'latest'), path: 'version' },
      {
        label: 'old-schema',
        change: (s) => (s.$schema = 'https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json'),
        path: 'schema',
      },
    ];
    const { code, reports } = validate(cases.map((c) => mutant(c.label, c.change)));
    expect(code).toBe(1);
    expect(reports).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      const report = reports[i]!;
      expect(report.valid, c.label).toBe(false);
      const paths = report.issues.filter((x) => x.severity === 'error').map((x) => x.path);
      expect(paths, `${c.label}: ${JSON.stringify(report.issues)}`).toContain(c.path);
    });
  });

  it('says so when a file is not a server.json at all', () => {
    const file = path.join(work, 'not-json.json');
    writeFileSync(file, '{"name": ');
    const { code, reports } = validate([file]);
    expect(code).toBe(2);
    expect(reports[0]?.error).toMatch(/not a server\.json/);
  });
});

describe('server.json agrees with the package and the command', () => {
  it('names the npm package, its version and its mcpName (what the registry checks at publish)', () => {
    expect(packageJson.mcpName).toBe(serverJson.name);
    expect(serverJson.version).toBe(packageJson.version);
    const npm = serverJson.packages.filter((p) => p.registryType === 'npm');
    expect(npm).toHaveLength(1);
    expect(npm[0]?.identifier).toBe(packageJson.name);
    expect(npm[0]?.version).toBe(packageJson.version);
  });

  it('documents only options the built command has', () => {
    const help = spawnSync(process.execPath, [CLI_PATH, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    const named = serverJson.packages.flatMap((p) => p.packageArguments ?? []).filter((a) => a.type === 'named');
    expect(named.length).toBeGreaterThan(0);
    for (const arg of named) expect(help.stdout, arg.name).toMatch(new RegExp(`^\\s+${arg.name}\\b`, 'm'));
  });

  it('documents only environment variables the code reads', () => {
    const sources: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) sources.push(readFileSync(p, 'utf8'));
      }
    };
    walk(path.join(REPO_ROOT, 'src'));
    const code = sources.join('\n');
    const vars = serverJson.packages.flatMap((p) => p.environmentVariables ?? []).map((v) => v.name);
    expect(vars.length).toBeGreaterThan(0);
    for (const name of vars) {
      // Read as env.NAME / env['NAME'] in our code, or (OTEL_*) by the OTel SDK we start.
      const ours = new RegExp(`env(\\.${name}\\b|\\[['"]${name}['"]\\])`).test(code);
      const sdk = name.startsWith('OTEL_') && code.includes(name);
      expect(ours || sdk, name).toBe(true);
    }
  });
});
