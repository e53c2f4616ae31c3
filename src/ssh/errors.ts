/**
 * Typed SSH failures. Each carries a message that says what happened and what to do, so the
 * MCP layer can hand it to the client unchanged and telemetry can classify it by `kind`.
 */
export type SshFailureKind =
  | 'connection_refused'
  | 'connection_failed'
  | 'timeout'
  | 'authentication_failed'
  | 'host_key_unknown'
  | 'host_key_mismatch'
  | 'host_key_revoked'
  | 'network_blocked'
  | 'connection_lost'
  /** A pooled connection was found dead before the command started: nothing ran, a retry is safe. */
  | 'connection_stale';

export class SshError extends Error {
  constructor(
    readonly kind: SshFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SshError';
  }
}
