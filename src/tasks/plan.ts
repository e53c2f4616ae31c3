/**
 * One admission path: what the server decides about a command on a host, before anything runs.
 * `ssh_plan` reports it and the executor acts on it, through these same functions, so a dry
 * run cannot drift from a real one. Checks that come later (approvals, principals) belong here
 * as further steps of `planCommand`, not in either caller.
 */
import type { EffectiveLimits, HostConfig } from '../config/schema.js';
import type { PolicyDecision } from '../policy/engine.js';
import type { RuntimeSnapshot } from './snapshot.js';

export interface AddressVerdict {
  ip: string;
  allowed: boolean;
  reason: string;
}

/** The command-level part of admission: the policy's decision and the host's limits. */
export interface CommandPlan {
  decision: PolicyDecision;
  limits: EffectiveLimits;
}

export async function planCommand(snap: RuntimeSnapshot, host: HostConfig, command: string): Promise<CommandPlan> {
  const target = { alias: host.alias, tags: host.tags };
  const decision = await snap.policy.decideAsync(target, command);
  return { decision, limits: snap.policy.limitsFor(target) };
}

/**
 * Every address the host name resolves to, with the network policy's verdict on each, in the
 * resolver's order (the executor connects to the first allowed one). Rejects when the name
 * does not resolve.
 */
export async function addressVerdicts(snap: RuntimeSnapshot, host: HostConfig): Promise<AddressVerdict[]> {
  const { addresses } = await snap.resolver.resolve(host.host);
  return addresses.map(({ address }) => ({ ip: address, ...snap.network.check(address) }));
}
