/**
 * One Kibana version everywhere: the saved objects (coreMigrationVersion and each type's
 * typeMigrationVersion), what `setup elasticsearch --kibana-url` accepts, what
 * docs/elasticsearch.md says and what the demo stack runs. A Kibana older than an object's
 * migration version refuses to import it, so the oldest version setup accepts must be the
 * version the objects are written for.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient, importKibana, KIBANA_MIN_VERSION } from '../../src/setup/elasticsearch.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const NDJSON = readFileSync(join(ROOT, 'elk/kibana/mcp_ssh.ndjson'), 'utf8');
const objects = NDJSON.split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Json);
const MIN = `${KIBANA_MIN_VERSION.join('.')}.0`;

const parts = (v: string): number[] => v.split('.').map((n) => Number.parseInt(n, 10));
const compare = (a: string, b: string): number => {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

describe('Kibana: one version for the saved objects, setup, the docs and the demo', () => {
  it('every saved object is written for the oldest Kibana setup accepts (coreMigrationVersion)', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) expect(o.coreMigrationVersion, `${o.type} ${o.id}`).toBe(MIN);
  });

  it('no object needs a migration newer than that Kibana (typeMigrationVersion)', () => {
    for (const o of objects) {
      expect(o.typeMigrationVersion, `${o.type} ${o.id}`).toMatch(/^\d+\.\d+\.\d+$/);
      expect(compare(o.typeMigrationVersion as string, MIN), `${o.type} ${o.id}`).toBeLessThanOrEqual(0);
    }
    // The Lens panels and the dashboard are the objects that set the floor.
    const newest = objects.filter((o) => o.typeMigrationVersion === MIN).map((o) => o.type as string);
    expect(new Set(newest)).toEqual(new Set(['lens', 'dashboard']));
  });

  it('docs/elasticsearch.md says the same version', () => {
    const doc = readFileSync(join(ROOT, 'docs/elasticsearch.md'), 'utf8');
    const [major, minor] = KIBANA_MIN_VERSION;
    expect(doc).toContain(`Kibana ${major}.${minor} or later`);
    const named = [...doc.matchAll(/Kibana (\d+\.\d+)/g)].map((m) => m[1]);
    expect(new Set(named)).toEqual(new Set([`${major}.${minor}`]));
  });

  it('the demo stack runs a Kibana that takes them', () => {
    const env = readFileSync(join(ROOT, '.env'), 'utf8');
    const stack = /^STACK_VERSION=(\S+)$/m.exec(env)?.[1] as string;
    expect(stack).toBeDefined();
    expect(compare(stack, MIN)).toBeGreaterThanOrEqual(0);
  });

  describe('setup --kibana-url against a Kibana stub', () => {
    let server: Server | undefined;
    let version = '';
    let imports = 0;
    afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));
    const kibana = async (v: string): Promise<string> => {
      version = v;
      if (!server) {
        server = createServer((req, res) => {
          if (req.url === '/api/status') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ version: { number: version }, status: { overall: { level: 'available' } } }));
            return;
          }
          imports++;
          req.resume();
          req.on('end', () => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ success: true, successCount: objects.length }));
          });
        });
        await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
      }
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };

    it('a Kibana older than the objects is refused before anything is imported, with what to do', async () => {
      const url = await kibana('8.8.2');
      const before = imports;
      await expect(importKibana(new HttpClient(url, 'Kibana'), url, NDJSON)).rejects.toThrow(
        `runs Kibana 8.8.2: the saved objects need Kibana ${KIBANA_MIN_VERSION.join('.')} or later`,
      );
      expect(imports).toBe(before);
    });

    it('the oldest Kibana accepted, and a newer one, get the objects', async () => {
      for (const v of [MIN, '8.19.21', '9.1.0']) {
        const url = await kibana(v);
        const step = await importKibana(new HttpClient(url, 'Kibana'), url, NDJSON);
        expect(step.action).toBe('imported');
        expect(step.note).toContain(`Kibana ${v}`);
      }
    });
  });
});
