/**
 * A runtime snapshot: one loaded config with the policy engine, network policy, resolver and
 * known_hosts built from it. Snapshots are immutable and swapped whole on reload, and every
 * command holds the snapshot it started with, so no command ever sees half a config.
 * Building one never holds the event loop for long: the config is loaded on the config thread
 * (config/off-thread.ts) and the policy compiled in slices.
 */
import { loadConfig, type ConfigDirs, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { ConfigError, formatIssue, type ConfigIssue } from '../config/errors.js';
import { PolicyEngine } from '../policy/engine.js';
import { HostResolver, NetworkPolicy } from '../policy/network.js';
import { KnownHosts } from '../ssh/known-hosts.js';
import type { EventEmitter } from '../telemetry/events.js';

export interface RuntimeSnapshot {
  readonly generation: number;
  readonly config: LoadedConfig;
  readonly policy: PolicyEngine;
  readonly network: NetworkPolicy;
  readonly resolver: HostResolver;
  readonly knownHosts: KnownHosts;
}

export async function buildSnapshot(
  dirs: ConfigDirs,
  emitter: EventEmitter,
  generation: number,
  options: LoadOptions = {},
): Promise<RuntimeSnapshot> {
  const loaded = await loadConfig(dirs, emitter, options);
  // known_hosts first, so that a missing file is one more config warning. Missing is not an
  // error (as in the Python server, whose examples name /app/keys/known_hosts): every
  // connection is then refused as host_key_unknown until the file exists and the config is
  // reloaded. A file that exists but cannot be read (a directory, no permission) is an error.
  let knownHosts: KnownHosts;
  try {
    knownHosts = await KnownHosts.load(loaded.knownHostsPath, { allowMissing: true });
  } catch (err) {
    throw new ConfigError([{ file: 'policy.yml', path: 'known_hosts_path', message: (err as Error).message }]);
  }
  const config: LoadedConfig = knownHosts.missing
    ? { ...loaded, warnings: [...loaded.warnings, missingKnownHostsWarning(loaded.knownHostsPath)] }
    : loaded;
  for (const warning of config.warnings) {
    emitter.emit({
      type: 'error',
      level: 'warn',
      msg: 'config_warning',
      error: formatIssue(warning),
      issues: [warning],
    });
  }
  const net = config.policy.network;
  return {
    generation,
    config,
    // Compiled in slices: a policy at the size limits takes tens of milliseconds to compile.
    policy: await PolicyEngine.create(config.policy),
    network: new NetworkPolicy(net),
    resolver: new HostResolver({ maxPerSecond: net.dns_max_per_second, cacheTtlSeconds: net.dns_cache_ttl, emitter }),
    knownHosts,
  };
}

function missingKnownHostsWarning(knownHostsPath: string): ConfigIssue {
  return {
    file: 'policy.yml',
    path: 'known_hosts_path',
    message:
      `the known_hosts file ${knownHostsPath} does not exist. The server starts anyway, but no host key can be ` +
      'verified, so every connection is refused until it does: create it with `ssh-keyscan -p PORT HOST >> ' +
      `${knownHostsPath}\` after checking the fingerprints (or set known_hosts_path in policy.yml to an existing ` +
      'file), then reload the configuration',
  };
}
