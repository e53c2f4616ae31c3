/**
 * A runtime snapshot: one loaded config with the policy engine, network policy, resolver and
 * known_hosts built from it. Snapshots are immutable and swapped whole on reload, and every
 * command holds the snapshot it started with, so no command ever sees half a config.
 * Building one never holds the event loop for long: the config is loaded on the config thread
 * (config/off-thread.ts) and the policy compiled in slices.
 */
import { loadConfig, type ConfigDirs, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
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
  const config = await loadConfig(dirs, emitter, options);
  let knownHosts: KnownHosts;
  try {
    knownHosts = await KnownHosts.load(config.knownHostsPath);
  } catch (err) {
    throw new ConfigError([{ file: 'policy.yml', path: 'known_hosts_path', message: (err as Error).message }]);
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
