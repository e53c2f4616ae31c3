/**
 * `mcp-ssh-orchestrator kit`: where the log-pipeline kit of this installation is, and a copy of
 * it to edit. The kit ships inside the package (npm pack / npm install -g), beside dist/: the
 * Elasticsearch/Kibana assets `setup elasticsearch` reads, the Collector and Logstash configs,
 * Prometheus/Grafana/SIEM material, the compose demo stack and the docs that describe them.
 */
import { cp, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The package root: ../ from src/ (tsx) and from dist/ (built). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What the kit is, relative to the package root. */
export const KIT_ENTRIES = [
  'elk',
  'otel-collector',
  'pipelines',
  'monitoring',
  'docker',
  'docker-compose.yml',
  'docs',
] as const;

export const KIT_HELP = `Usage: mcp-ssh-orchestrator kit path
       mcp-ssh-orchestrator kit export DIR [--force]

The log-pipeline kit that ships with this installation:
  elk/             Elasticsearch templates, ingest pipelines, ILM, Kibana saved objects
                   (installed by \`mcp-ssh-orchestrator setup elasticsearch\`)
  otel-collector/  Collector agent and gateway configs, builder manifest
  pipelines/       Logstash pipelines
  monitoring/      Prometheus rules, Grafana dashboards, SIEM (Sigma) rules
  docker/, docker-compose.yml   the demo stack
  docs/            how each piece is used

  path          print the directory the kit is in
  export DIR    copy the kit into DIR (created if missing; refused if DIR is not empty,
                unless --force, which overwrites files of the same name)
`;

export interface KitIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** Copies every kit entry of `root` into `dest`; returns what was copied. */
export async function exportKit(dest: string, opts: { force?: boolean; root?: string } = {}): Promise<string[]> {
  const root = opts.root ?? PACKAGE_ROOT;
  if (!opts.force && !(await isEmptyDir(dest))) {
    throw new Error(`${dest} is not empty: export into a new or empty directory, or pass --force to overwrite`);
  }
  await mkdir(dest, { recursive: true });
  const copied: string[] = [];
  for (const entry of KIT_ENTRIES) {
    const from = path.join(root, entry);
    try {
      await stat(from);
    } catch {
      continue; // a package built without one part (e.g. no docker/) still exports the rest
    }
    await cp(from, path.join(dest, entry), { recursive: true, force: true });
    copied.push(entry);
  }
  if (copied.length === 0) throw new Error(`no kit found under ${root}: this installation is incomplete`);
  return copied;
}

export async function runKitCommand(argv: string[], io: KitIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    io.err(`mcp-ssh-orchestrator kit: ${(error as Error).message}\n${KIT_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, dir, ...rest] = positionals;
  if (values.help || action === undefined) {
    (values.help ? io.out : io.err)(KIT_HELP);
    return values.help ? 0 : 2;
  }
  if (action === 'path' && dir === undefined) {
    io.out(`${PACKAGE_ROOT.replace(/\/$/, '')}\n`);
    return 0;
  }
  if (action === 'export' && dir !== undefined && rest.length === 0) {
    try {
      const copied = await exportKit(path.resolve(dir), { force: values.force === true });
      io.out(`exported ${copied.join(', ')} to ${path.resolve(dir)}\n`);
      return 0;
    } catch (error) {
      io.err(`mcp-ssh-orchestrator kit export: ${(error as Error).message}\n`);
      return 1;
    }
  }
  io.err(`mcp-ssh-orchestrator kit: unknown use "${positionals.join(' ')}"\n${KIT_HELP}`);
  return 2;
}
