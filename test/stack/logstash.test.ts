/**
 * The Logstash pipelines under pipelines/logstash pass the Logstash config grammar checker
 * (`mustache`, github.com/breml/logstash-config, built by scripts/engines/mustache.sh;
 * Logstash itself cannot be installed here), and pipelines.yml names exactly those files.
 * What the files must say for nothing to be lost or misfiled (persistent and dead-letter queues,
 * rotated files read, the orchestrator's container selected, the container id found, Docker's
 * time kept, partial lines joined) is read from them here; what only a running Logstash could
 * show is listed in docs/testing.md. The join itself, and what the documents the pipelines send
 * become on the ingest side, run in logstash-ingest.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, matchesGlob } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { mustache, REPO_ROOT, requireEngine } from './engines.js';

const DIR = join(REPO_ROOT, 'pipelines/logstash');
const confs = readdirSync(DIR).filter((f) => f.endsWith('.conf'));
/** The pipelines that read the orchestrator's lines (the third one re-sends dead letters). */
const LINE_PIPELINES = ['docker-json-file.conf', 'network.conf'];
const read = (f: string): string => readFileSync(join(DIR, f), 'utf8');
/** `${VAR:default}` as Logstash substitutes it when VAR is unset. */
const withDefaults = (v: string): string => v.replace(/\$\{[A-Z0-9_]+:([^}]*)\}/g, '$1');
type Entry = Record<string, string | number | boolean>;
const entries = parse(read('pipelines.yml')) as Entry[];
const entryOf = (conf: string): Entry => {
  const e = entries.find((x) => String(x['path.config']).endsWith(`/${conf}`));
  if (!e) throw new Error(`pipelines.yml has no pipeline for ${conf}`);
  return e;
};
const engine = requireEngine('mustache');

describe.skipIf(!engine)('Logstash pipelines: grammar', () => {
  for (const f of confs) {
    it(`${f} passes mustache check and lint`, () => {
      const check = mustache(['check', join(DIR, f)]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const lint = mustache(['lint', join(DIR, f)]);
      expect(lint.code, lint.stdout + lint.stderr).toBe(0);
      expect(lint.stdout.trim(), 'lint findings').toBe('');
    });
  }

  it('the checker bites: the same pipeline with one brace missing fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-logstash-'));
    const broken = readFileSync(join(DIR, 'docker-json-file.conf'), 'utf8').replace(/\}\s*$/, '');
    writeFileSync(join(dir, 'broken.conf'), broken);
    expect(mustache(['check', join(dir, 'broken.conf')]).code).not.toBe(0);
  });
});

describe('Logstash pipelines: pipelines.yml and the contract', () => {
  it('pipelines.yml names every conf file, with ecs_compatibility v8', () => {
    const entries = parse(readFileSync(join(DIR, 'pipelines.yml'), 'utf8')) as Record<string, string>[];
    expect(entries.map((e) => (e['path.config'] ?? '').split('/').pop()).sort()).toEqual([...confs].sort());
    for (const e of entries) expect(e['pipeline.ecs_compatibility']).toBe('v8');
  });

  it('every pipeline sets data_stream.* and writes data streams with ecs_compatibility v8; the line pipelines keep stderr only', () => {
    expect(confs.sort()).toEqual(['dead-letters.conf', ...LINE_PIPELINES].sort());
    for (const f of confs) {
      const text = read(f);
      if (LINE_PIPELINES.includes(f)) expect(text, f).toMatch(/\[stream\] != "stderr"/);
      for (const k of ['type', 'dataset', 'namespace']) expect(text, f).toContain(`"[data_stream][${k}]"`);
      expect(text, f).toMatch(/data_stream => "true"/);
      // input(s) and output; the dead_letter_queue input re-reads events as they were
      expect(text.match(/ecs_compatibility => v8/g)?.length, f).toBeGreaterThanOrEqual(
        LINE_PIPELINES.includes(f) ? 2 : 1,
      );
    }
  });
});

describe('Logstash pipelines: nothing read is lost or misfiled (what the files say)', () => {
  it('a crash or an outage loses nothing: each line pipeline has a persistent queue, checkpointed per event', () => {
    for (const f of LINE_PIPELINES) {
      const e = entryOf(f);
      expect(e['queue.type'], f).toBe('persisted');
      expect(e['queue.checkpoint.writes'], f).toBe(1);
      expect(String(e['queue.max_bytes']), f).toMatch(/^\d+(mb|gb)$/);
    }
  });

  it('a document Elasticsearch refuses (400/404) is kept: dead-letter queues, re-sent to the failed data stream', () => {
    for (const f of LINE_PIPELINES) expect(entryOf(f)['dead_letter_queue.enable'], f).toBe(true);
    const dlq = read('dead-letters.conf');
    expect(entryOf('dead-letters.conf')['dead_letter_queue.enable']).toBeUndefined(); // no loop
    // One dead_letter_queue input per pipeline that writes one, committing what it sent.
    const inputs = [...dlq.matchAll(/\n {2}dead_letter_queue \{\n([\s\S]*?)\n {2}\}/g)].map((m) => m[1] as string);
    expect(inputs.map((i) => /pipeline_id => "([^"]+)"/.exec(i)?.[1]).sort()).toEqual(
      LINE_PIPELINES.map((f) => entryOf(f)['pipeline.id']).sort(),
    );
    for (const i of inputs) {
      expect(i).toMatch(/commit_offsets => true/);
      expect(i).toMatch(/clean_consumed => true/);
    }
    // The failure document: the line, the reason, to logs-mcp_ssh.failed-<namespace>.
    expect(dlq).toContain('rename => { "message" => "[event][original]" }');
    expect(dlq).toContain('"[error][message]" => "%{[@metadata][dead_letter_queue][reason]}"');
    expect(dlq).toContain('"[event][kind]" => "pipeline_error"');
    expect(dlq).toContain('"[data_stream][dataset]" => "mcp_ssh.failed"');
  });

  it('rotated files are read too (a file rotated away before Logstash reached its end), compressed ones not', () => {
    const conf = read('docker-json-file.conf');
    const paths = [...(/path => \[([^\]]*)\]/.exec(conf)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) =>
      withDefaults(m[1] as string),
    );
    const excludes = [...(/exclude => \[([^\]]*)\]/.exec(conf)?.[1] ?? '').matchAll(/"([^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    const id = 'c0ffee'.padEnd(64, '0');
    const dir = `/var/lib/docker/containers/${id}`;
    // The file input matches `path` against full paths and `exclude` against file names.
    const reads = (file: string): boolean =>
      paths.some((p) => matchesGlob(file, p)) && !excludes.some((x) => matchesGlob(file.split('/').pop() as string, x));
    for (const f of [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`])
      expect(reads(`${dir}/${f}`), f).toBe(true);
    for (const f of [`${id}-json.log.1.gz`, 'config.v2.json', 'hostconfig.json'])
      expect(reads(`${dir}/${f}`), f).toBe(false);
  });

  it('the Docker entry is decoded off [log]: the container-id grok can match [log][file][path] (ECS v8)', () => {
    const conf = read('docker-json-file.conf');
    const input = /input \{([\s\S]*?)\n\}/.exec(conf)?.[1] ?? '';
    // A json codec would decode Docker's {"log": "<line>"} into [log], the field ECS mode's file
    // input writes [log][file][path] into, so the grok below could never match.
    expect(input).not.toMatch(/codec => "?json/);
    expect(input).toMatch(/ecs_compatibility => v8/);
    expect(conf).toMatch(/source => "message"\s+target => "\[@metadata\]\[docker\]"/);
    expect(conf).not.toMatch(/%\{log\}|"\[log\]"|\[log\] /);
    const grok = /match => \{ "\[log\]\[file\]\[path\]" => "([^"]+)" \}/.exec(conf)?.[1] as string;
    expect(grok).toBeDefined();
    const re = new RegExp(grok.replace('(?<[@metadata][container_id]>', '(?<id>'));
    const id = 'c0ffee'.padEnd(64, '0');
    expect(re.exec(`/var/lib/docker/containers/${id}/${id}-json.log.1`)?.groups?.id).toBe(id);
  });

  it("only the orchestrator's containers: stderr of the role MCP_SSH_CONTAINER_ROLE (the compose file's logging label)", () => {
    const conf = read('docker-json-file.conf');
    expect(conf).toContain('"[@metadata][wanted_role]" => "${MCP_SSH_CONTAINER_ROLE:orchestrator}"');
    expect(conf).toMatch(
      /if \[@metadata\]\[wanted_role\] != "\*" and \[@metadata\]\[docker\]\[attrs\]\[com\.mcp-ssh\.role\] != \[@metadata\]\[wanted_role\] \{\s*drop/,
    );
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toMatch(/labels: com\.mcp-ssh\.role/);
    expect(compose).toMatch(/com\.mcp-ssh\.role: orchestrator/);
  });

  it("failed documents and lines without ts are dated by Docker's time, not Logstash's read time", () => {
    const conf = read('docker-json-file.conf');
    expect(conf).toMatch(
      /date \{[^}]*match => \["\[@metadata\]\[docker\]\[time\]", "ISO8601"\][^}]*target => "@timestamp"/,
    );
  });

  it('lines over 16 KiB are joined by the ruby filter, in a pipeline with one ordered worker', () => {
    const conf = read('docker-json-file.conf');
    const script = /path => "\/usr\/share\/logstash\/pipeline\/mcp_ssh\/([^"]+\.rb)"/.exec(conf)?.[1] as string;
    expect(existsSync(join(DIR, script)), script).toBe(true);
    const e = entryOf('docker-json-file.conf');
    expect(e['pipeline.workers']).toBe(1);
    expect(e['pipeline.ordered']).toBe(true);
    // The join runs after the container id is known and before the line becomes the message.
    const at = (s: string) => conf.indexOf(s);
    expect(at('mcp_ssh_container_id')).toBeLessThan(at('mcp_ssh_join_partial_lines'));
    expect(at('mcp_ssh_join_partial_lines')).toBeLessThan(at('mcp_ssh_log_to_message'));
  });

  it("the Python server's error lines (level and msg, no type) are routed like error lines", () => {
    for (const f of LINE_PIPELINES)
      expect(read(f), f).toContain(
        '} else if [@metadata][line][type] or ([@metadata][line][level] and [@metadata][line][msg]) {',
      );
  });
});
