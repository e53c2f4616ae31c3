/** The opt-in HTTP endpoint serving Prometheus metrics at /metrics (never on stdout). */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsAddress {
  host: string;
  port: number;
}

/** Parses HOST:PORT (IPv6 as [::1]:9464); throws a message that says what is expected. */
export function parseMetricsAddress(value: string): MetricsAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535 || (m?.[1] !== undefined && isIP(host) !== 6)) {
    throw new Error(`metrics address must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464; got "${value}"`);
  }
  return { host, port };
}

export async function startMetricsServer(
  registry: Registry,
  addr: MetricsAddress,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `cannot serve metrics on ${addr.host}:${addr.port}: ${err.code ?? err.message} (is the port in use?)`,
        ),
      ),
    );
    server.listen(addr.port, addr.host, () => resolve());
  });
  server.unref();
  const bound = server.address();
  return {
    server,
    url: metricsUrlOf({ host: addr.host, port: typeof bound === 'object' && bound ? bound.port : addr.port }),
  };
}

/** The URL a scraper uses; a wildcard bind address is scraped on loopback. */
export function metricsUrlOf(addr: MetricsAddress): string {
  const host = addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '::1' : addr.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/metrics`;
}
