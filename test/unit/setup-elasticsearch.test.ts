/**
 * The setup command's argument handling and its reading of HTTP answers (401, 403, an old
 * version, a non-Elasticsearch server). The server here is a plain node:http stub on
 * 127.0.0.1 that answers fixed status codes: it tests how the CLI reports what a cluster says,
 * not the kit (the kit is proven on real engines in test/stack).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runSetupCommand, SETUP_HELP } from '../../src/setup/elasticsearch.js';

async function setup(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runSetupCommand(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

let server: Server | undefined;
const seen: { method: string; url: string; auth: string | undefined }[] = [];
async function stub(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  seen.length = 0;
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});
const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('setup command line', () => {
  it('--help prints the usage on stdout, exit 0', async () => {
    const r = await setup(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(SETUP_HELP);
  });

  it('usage errors exit 2 and say what is wrong', async () => {
    expect((await setup([])).err).toContain('what to set up is missing');
    expect((await setup(['kibana'])).err).toContain('unknown target "kibana"');
    const noUrl = await setup(['elasticsearch']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toContain('--url is required');
    const both = await setup(['elasticsearch', '--url', 'http://x', '--username', 'u', '--api-key', 'k']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('either --username/--password or --api-key');
    expect((await setup(['elasticsearch', '--bogus'])).code).toBe(2);
  });

  it('401: exit 1, the credentials were refused; basic auth was sent', async () => {
    const url = await stub((_req, res) =>
      json(res, 401, {
        error: { type: 'security_exception', reason: 'unable to authenticate user [elastic]' },
        status: 401,
      }),
    );
    const r = await setup(['elasticsearch', '--url', url, '--username', 'elastic', '--password', 'wrong']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`setup failed: Elasticsearch at ${url} refused the credentials (401 Unauthorized)`);
    expect(seen[0]?.auth).toBe(`Basic ${Buffer.from('elastic:wrong').toString('base64')}`);
  });

  it('an API key from the environment is sent as ApiKey', async () => {
    const url = await stub((_req, res) => json(res, 401, {}));
    await setup(['elasticsearch'], { ELASTICSEARCH_URL: url, ELASTICSEARCH_API_KEY: 'a2V5' });
    expect(seen[0]?.auth).toBe('ApiKey a2V5');
  });

  it('403: exit 1, names the privileges setup needs', async () => {
    const url = await stub((_req, res) =>
      json(res, 403, { error: { reason: 'action [cluster:monitor/main] is unauthorized for user [viewer]' } }),
    );
    const r = await setup(['elasticsearch', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is unauthorized for user [viewer]');
    expect(r.err).toContain('manage_index_templates, manage_pipeline and manage_ilm');
  });

  it('Elasticsearch 7.17: exit 1, unsupported version, nothing installed', async () => {
    const url = await stub((_req, res) =>
      json(res, 200, { version: { number: '7.17.18' }, tagline: 'You Know, for Search' }),
    );
    const r = await setup(['elasticsearch', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('runs Elasticsearch 7.17.18, which is not supported: the kit needs 8.8 or later');
    expect(seen.filter((s) => s.method === 'PUT')).toEqual([]);
  });

  it('something that is not Elasticsearch: exit 1, check the URL', async () => {
    const url = await stub((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>Kibana</html>');
    });
    const r = await setup(['elasticsearch', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('does not answer like Elasticsearch');
  });
});
