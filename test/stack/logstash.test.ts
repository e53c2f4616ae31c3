/**
 * The Logstash pipelines under pipelines/logstash pass the Logstash config grammar checker
 * (`mustache`, github.com/breml/logstash-config, built by scripts/engines/mustache.sh;
 * Logstash itself cannot be installed here), and pipelines.yml names exactly those files.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { mustache, REPO_ROOT, requireEngine } from './engines.js';

const DIR = join(REPO_ROOT, 'pipelines/logstash');
const confs = readdirSync(DIR).filter((f) => f.endsWith('.conf'));
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

  it('every pipeline keeps stderr only, sets data_stream.* and writes data streams with ecs_compatibility v8', () => {
    for (const f of confs) {
      const text = readFileSync(join(DIR, f), 'utf8');
      expect(text, f).toMatch(/\[stream\] != "stderr"/);
      for (const k of ['type', 'dataset', 'namespace']) expect(text, f).toContain(`"[data_stream][${k}]"`);
      expect(text, f).toMatch(/data_stream => "true"/);
      expect(text.match(/ecs_compatibility => v8/g)?.length, f).toBeGreaterThanOrEqual(2);
    }
  });
});
