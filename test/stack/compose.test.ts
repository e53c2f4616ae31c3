/**
 * The docker compose demo stack, proven without a Docker daemon: docker-compose and dclint
 * accept it, every file it mounts exists, and the names and ports it wires together agree
 * with the configs under docker/, monitoring/, pipelines/, otel-collector/ and elk/.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI_PATH } from '../helpers/mcp-session.js';
import { dclint, dockerCompose, requireEngines } from './engines.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROFILES = ['--profile', 'client', '--profile', 'otel-agent', '--profile', 'otel-gateway'];

interface Volume {
  type: string;
  source?: string;
  target: string;
  read_only?: boolean;
}
interface Port {
  host_ip?: string;
  published?: string | number;
  target: number;
}

/** docker-compose 1.x prints short syntax (`src:dst:ro`, `ip:pub:target/tcp`); v2 prints long. */
function volumeOf(v: string | Volume): Volume {
  if (typeof v !== 'string') return v;
  const [source = '', target = '', mode] = v.split(':');
  return {
    type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume',
    source,
    target,
    read_only: mode === 'ro',
  };
}
function portOf(p: string | Port): Port {
  if (typeof p !== 'string') return p;
  const parts = p.replace(/\/\w+$/, '').split(':');
  const target = Number(parts.pop());
  const published = parts.pop();
  return {
    target,
    ...(published !== undefined ? { published } : {}),
    ...(parts[0] !== undefined ? { host_ip: parts[0] } : {}),
  };
}

interface RawService extends Omit<Service, 'volumes' | 'ports'> {
  volumes?: (string | Volume)[];
  ports?: (string | Port)[];
}

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: Volume[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  logging?: { driver: string; options?: Record<string, string> };
  ports?: Port[];
  build?: { context: string };
  image?: string;
  read_only?: boolean;
  profiles?: string[];
  labels?: Record<string, string>;
}

describe.skipIf(!requireEngines('docker-compose', 'dclint'))('docker compose demo stack', () => {
  let services: Record<string, Service>;

  beforeAll(() => {
    const r = dockerCompose([...PROFILES, 'config'], { cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    const raw = (parse(r.stdout) as { services: Record<string, RawService> }).services;
    services = Object.fromEntries(
      Object.entries(raw).map(([name, s]) => [
        name,
        { ...s, volumes: s.volumes?.map(volumeOf), ports: s.ports?.map(portOf) } as Service,
      ]),
    );
  });

  const svc = (name: string): Service => {
    const s = services[name];
    if (!s) throw new Error(`compose has no service ${name}`);
    return s;
  };

  it('passes docker-compose config -q and dclint with no finding', () => {
    const q = dockerCompose([...PROFILES, 'config', '-q'], { cwd: ROOT });
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).toBe('');
    const lint = dclint(['docker-compose.yml'], { cwd: ROOT });
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout + lint.stderr).not.toMatch(/warning|error/);
  });

  it('has every service the stack promises', () => {
    for (const name of [
      'elasticsearch',
      'kibana',
      'logstash',
      'otel-agent',
      'otel-gateway',
      'setup',
      'fleet-init',
      'target1',
      'target2',
      'orchestrator',
      'mcp',
      'prometheus',
    ]) {
      expect(services[name], name).toBeDefined();
    }
    expect(svc('otel-agent').profiles).toEqual(['otel-agent']);
    expect(svc('otel-gateway').profiles).toEqual(['otel-gateway']);
  });

  it('mounts only files and directories that exist in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        if (v.type !== 'bind' || !v.source) continue;
        if (v.source.startsWith('/var/lib/docker')) continue; // the host's Docker logs
        expect(existsSync(v.source), `${name} mounts ${v.source}`).toBe(true);
      }
    }
    // Configs referenced inside those mounts.
    const collectorConfig = (name: string): string =>
      (svc(name).command ?? []).join(' ').match(/--config=\/etc\/otelcol\/(\S+)/)?.[1] ?? '';
    expect(existsSync(join(ROOT, 'otel-collector', collectorConfig('otel-agent')))).toBe(true);
    expect(existsSync(join(ROOT, 'otel-collector', collectorConfig('otel-gateway')))).toBe(true);
    const prom = parse(readFileSync(join(ROOT, 'monitoring/prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
    };
    for (const f of prom.rule_files)
      expect(existsSync(join(ROOT, 'monitoring/prometheus', f.replace('/etc/prometheus/', '')))).toBe(true);
    const pipelines = parse(readFileSync(join(ROOT, 'pipelines/logstash/pipelines.yml'), 'utf8')) as {
      'path.config': string;
    }[];
    for (const p of pipelines) {
      expect(
        existsSync(
          join(ROOT, 'pipelines/logstash', p['path.config'].replace('/usr/share/logstash/pipeline/mcp_ssh/', '')),
        ),
      ).toBe(true);
    }
  });

  it('wires names and ports consistently across the configs', () => {
    // Prometheus scrapes the port the orchestrator serves metrics on.
    const prom = parse(readFileSync(join(ROOT, 'monitoring/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const metricsPort = svc('orchestrator').environment?.MCP_SSH_METRICS_ADDR?.split(':').pop();
    expect(prom.scrape_configs[0]?.static_configs[0]?.targets).toEqual([`orchestrator:${metricsPort}`]);
    // Logstash, the collectors and setup all talk to the elasticsearch service on 9200.
    expect(svc('logstash').environment?.ELASTICSEARCH_HOSTS).toBe('http://elasticsearch:9200');
    expect(svc('otel-agent').environment?.ELASTICSEARCH_ENDPOINT).toBe('http://elasticsearch:9200');
    expect(svc('otel-gateway').environment?.ELASTICSEARCH_ENDPOINT).toBe('http://elasticsearch:9200');
    expect(svc('setup').command).toEqual([
      'setup',
      'elasticsearch',
      '--url',
      'http://elasticsearch:9200',
      '--kibana-url',
      'http://kibana:5601',
    ]);
    expect(svc('elasticsearch').ports?.[0]).toMatchObject({ host_ip: '127.0.0.1', target: 9200 });
    // The gateway listens where the .env comment tells the orchestrator to send OTLP.
    expect(readFileSync(join(ROOT, '.env'), 'utf8')).toContain('http://otel-gateway:4318');
    expect(svc('otel-gateway').ports?.[0]).toMatchObject({ target: 4318 });
    // Every host in the fleet config is a target service, and fleet-init makes keys for exactly those.
    const servers = parse(readFileSync(join(ROOT, 'docker/fleet/config/servers.yml'), 'utf8')) as {
      hosts: { host: string }[];
    };
    const targets = [...new Set(servers.hosts.map((h) => h.host))].sort();
    for (const t of targets) expect(services[t], t).toBeDefined();
    expect(svc('fleet-init').environment?.FLEET_TARGETS?.split(' ').sort()).toEqual(targets);
    // known_hosts and the login key come from the fleet-client volume mounted at /app/keys.
    const policy = parse(readFileSync(join(ROOT, 'docker/fleet/config/policy.yml'), 'utf8')) as {
      known_hosts_path: string;
    };
    const keysMount = svc('orchestrator').volumes?.find((v) => v.target === '/app/keys');
    expect(keysMount).toMatchObject({ type: 'volume', source: 'fleet-client', read_only: true });
    expect(policy.known_hosts_path.startsWith('/app/keys/')).toBe(true);
  });

  it("the shippers read only the orchestrator's containers (the logging label), and keep their state on volumes", () => {
    const role = 'com.mcp-ssh.role';
    const labelled = Object.entries(services).filter(([, s]) => s.labels?.[role] !== undefined);
    expect(labelled.map(([n]) => n).sort()).toEqual(['mcp', 'orchestrator']);
    for (const [name, s] of labelled) {
      expect(s.labels?.[role], name).toBe('orchestrator');
      // Docker writes the label into every json-file entry (attrs) only with this logging option.
      expect(s.logging?.options?.labels?.split(','), name).toContain(role);
    }
    // No other service carries the label: their stderr is not the orchestrator's.
    for (const [name, s] of Object.entries(services))
      if (!labelled.some(([n]) => n === name)) expect(s.logging?.options?.labels ?? '', name).not.toContain(role);
    for (const shipper of ['logstash', 'otel-agent'])
      expect(svc(shipper).environment?.MCP_SSH_CONTAINER_ROLE, shipper).toBe('orchestrator');
    // Logstash's sincedb, persistent queues and dead-letter queues, the agent's offsets and queue.
    expect(svc('logstash').volumes?.find((v) => v.target === '/usr/share/logstash/data')).toMatchObject({
      type: 'volume',
      source: 'logstash-data',
    });
    expect(svc('otel-agent').volumes?.find((v) => v.target === '/var/lib/otelcol')).toMatchObject({ type: 'volume' });
  });

  it('runs the orchestrator locked down: read-only mounts and root fs, rotated json-file logs, health conditions', () => {
    const o = svc('orchestrator');
    expect(o.read_only).toBe(true);
    for (const v of o.volumes ?? []) expect(v.read_only, v.target).toBe(true);
    expect(o.logging).toMatchObject({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    expect(o.depends_on).toMatchObject({
      setup: { condition: 'service_completed_successfully' },
      target1: { condition: 'service_healthy' },
      target2: { condition: 'service_healthy' },
    });
    for (const name of ['elasticsearch', 'kibana']) expect(svc(name).healthcheck, name).toBeDefined();
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "dist\/cli.js", "check"\]/m);
    // No secrets in the compose file or .env.
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8') + readFileSync(join(ROOT, '.env'), 'utf8');
    expect(text).not.toMatch(/PASSWORD\s*[:=]\s*\S|API_KEY\s*[:=]\s*\S|BEGIN [A-Z ]*PRIVATE KEY/);
  });

  it('the fleet config the orchestrator mounts loads, given the keys fleet-init would generate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-fleet-'));
    cpSync(join(ROOT, 'docker/fleet/config'), join(dir, 'config'), { recursive: true });
    const keys = join(dir, 'keys');
    execFileSync('mkdir', ['-p', keys]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'id_ed25519')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
    const hostKey = readFileSync(join(dir, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(keys, 'known_hosts'), `target1 ${hostKey}\ntarget2 ${hostKey}\n`);
    const policyPath = join(dir, 'config/policy.yml');
    writeFileSync(
      policyPath,
      readFileSync(policyPath, 'utf8').replace('/app/keys/known_hosts', join(keys, 'known_hosts')),
    );
    const out = execFileSync(process.execPath, [CLI_PATH, 'check', '--config-dir', join(dir, 'config')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', MCP_SSH_KEYS_DIR: keys },
    });
    expect(out).toMatch(/^config ok: 3 hosts, 1 credentials, 2 rules/);
  });
});
