/**
 * Every config of the OpenTelemetry Collector kit (otel-collector/) is accepted by the Collector
 * build the tests use (`otelcol validate`, which loads every component's config and validates
 * the pipelines), alone or with its overlay; the overlay that needs an endpoint refuses to run
 * without one; each file states the pinned release the manifest builds; every environment
 * variable a config reads is documented in otel-collector/README.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_FLAGS } from './collector-engines.js';
import { otelcol, REPO_ROOT, requireEngine } from './engines.js';

const ready = requireEngine('otelcol') !== undefined;
const DIR = join(REPO_ROOT, 'otel-collector');
const FILES = [
  'gateway.yaml',
  'gateway-secure.yaml',
  'gateway-forward.yaml',
  'agent.yaml',
  'agent-to-gateway.yaml',
  'agent-to-gateway-secure.yaml',
];
/** What the secure overlays cannot do without (they refuse to start otherwise: collector-secure.test.ts). */
const SECURE_ENV = {
  OTLP_TLS_CERT_FILE: '/etc/otelcol/tls/gateway.pem',
  OTLP_TLS_KEY_FILE: '/etc/otelcol/tls/gateway.key',
  OTLP_AUTH_TOKEN: 'c2VjcmV0',
  GATEWAY_AUTH_TOKEN: 'c2VjcmV0',
  GATEWAY_OTLP_ENDPOINT: 'https://otel-gateway:4318',
};
const RUNS: { name: string; files: string[]; env?: Record<string, string> }[] = [
  { name: 'gateway', files: ['gateway.yaml'] },
  { name: 'gateway, secure', files: ['gateway.yaml', 'gateway-secure.yaml'], env: SECURE_ENV },
  {
    name: 'gateway + forward',
    files: ['gateway.yaml', 'gateway-forward.yaml'],
    env: { OTLP_FORWARD_ENDPOINT: 'https://otlp.example.com:4318' },
  },
  {
    name: 'gateway, secure + forward',
    files: ['gateway.yaml', 'gateway-secure.yaml', 'gateway-forward.yaml'],
    env: { ...SECURE_ENV, OTLP_FORWARD_ENDPOINT: 'https://otlp.example.com:4318' },
  },
  { name: 'agent', files: ['agent.yaml'] },
  { name: 'agent → gateway', files: ['agent.yaml', 'agent-to-gateway.yaml'] },
  {
    name: 'agent → secure gateway',
    files: ['agent.yaml', 'agent-to-gateway.yaml', 'agent-to-gateway-secure.yaml'],
    env: SECURE_ENV,
  },
];
const validate = (files: string[], env: Record<string, string> = {}) =>
  otelcol(['validate', ...files.flatMap((f) => ['--config', join(DIR, f)])], { env });

describe.skipIf(!ready)('OTel Collector kit configs (otelcol validate, the pinned build)', () => {
  for (const run of RUNS) {
    it(`${run.name} (${run.files.join(' + ')}) validates with the defaults`, () => {
      const r = validate(run.files, run.env);
      expect(r.code, r.stderr).toBe(0);
    });
  }

  it('every environment variable is honoured: non-default values validate too', () => {
    const env = {
      ELASTICSEARCH_ENDPOINT: 'https://es.example.com:9200',
      ELASTICSEARCH_TRACES_ENDPOINT: 'https://apm.example.com:9200',
      ELASTICSEARCH_USERNAME: 'otel',
      ELASTICSEARCH_PASSWORD: 'secret',
      ELASTICSEARCH_TLS_INSECURE_SKIP_VERIFY: 'true',
      ELASTICSEARCH_TIMEOUT: '30m',
      COLLECTOR_QUEUE_SIZE: '5000',
      COLLECTOR_STORAGE_DIR: '/tmp/otelcol-storage',
      COLLECTOR_METRICS_PORT: '9999',
      COLLECTOR_HEALTH_ENDPOINT: '127.0.0.1:13133',
      COLLECTOR_LOG_LEVEL: 'debug',
      OTLP_FORWARD_ENDPOINT: 'http://other:4318',
      OTLP_FORWARD_ENCODING: 'json',
      OTLP_FORWARD_COMPRESSION: 'none',
      MCP_SSH_DOCKER_LOGS: '/var/lib/docker/containers/abc*/*-json.log',
      MCP_SSH_CONTAINER_ROLE: '*',
      FILELOG_START_AT: 'end',
      GATEWAY_OTLP_ENDPOINT: 'https://gateway:4318',
      OTLP_TLS_CLIENT_CA_FILE: '/etc/otelcol/tls/clients-ca.pem',
      GATEWAY_CA_FILE: '/etc/otelcol/tls/ca.pem',
      GATEWAY_CLIENT_CERT_FILE: '/etc/otelcol/tls/agent.pem',
      GATEWAY_CLIENT_KEY_FILE: '/etc/otelcol/tls/agent.key',
    };
    for (const run of RUNS) {
      const r = validate(run.files, { ...SECURE_ENV, ...env });
      expect(r.code, `${run.name}: ${r.stderr}`).toBe(0);
    }
  });

  it('the forward overlay refuses to run without OTLP_FORWARD_ENDPOINT', () => {
    const r = validate(['gateway.yaml', 'gateway-forward.yaml']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/otlp_http\/forward: at least one endpoint must be specified/);
  });

  it('each file names the release the manifest pins, and the manifest pins one release', () => {
    const manifest = readFileSync(join(DIR, 'builder-config.yaml'), 'utf8');
    const contrib = [...manifest.matchAll(/opentelemetry-collector-contrib\/\S+ (v[\d.]+)/g)].map((m) => m[1]);
    const core = [
      ...manifest.matchAll(/go\.opentelemetry\.io\/collector\/(?:receiver|processor|exporter)\/\S+ (v[\d.]+)/g),
    ].map((m) => m[1]);
    expect(new Set(contrib)).toEqual(new Set(['v0.145.0']));
    expect(new Set(core)).toEqual(new Set(['v0.145.0']));
    for (const f of FILES)
      expect(readFileSync(join(DIR, f), 'utf8'), f).toContain('core v0.145.0 / v1.51.0, contrib v0.145.0');
  });

  it('the agent is run with the synchronous log emitter everywhere it is documented', () => {
    const flag = AGENT_FLAGS.join(' ');
    expect(flag).toBe('--feature-gates=stanza.synchronousLogEmitter');
    expect(otelcol([...AGENT_FLAGS, 'validate', '--config', join(DIR, 'agent.yaml')]).code).toBe(0);
    expect(readFileSync(join(DIR, 'agent.yaml'), 'utf8')).toContain(flag);
    expect(readFileSync(join(DIR, 'README.md'), 'utf8')).toContain(flag);
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { command?: string[] }>;
    };
    expect(compose.services['otel-agent']?.command).toContain(flag);
  });

  it('README.md documents every environment variable the configs read', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    const vars = new Set(
      FILES.flatMap((f) => [...readFileSync(join(DIR, f), 'utf8').matchAll(/\$\{env:([A-Z0-9_]+)/g)].map((m) => m[1])),
    );
    expect(vars.size).toBeGreaterThan(10);
    for (const v of vars) expect(readme, v).toContain(`\`${v}\``);
  });
});
