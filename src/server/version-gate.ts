/**
 * The 2026-07-28 revision's version rule for every request, not only the first: a request whose
 * `_meta` envelope names a protocol version this server does not implement is answered with
 * UnsupportedProtocolVersionError (-32022, listing the versions it does support) and never reaches
 * a handler (basic/versioning, "Protocol Version Negotiation"). The SDK's stdio entry applies it
 * to the message that opens a connection and then passes everything straight to the pinned
 * instance; this decorator applies it to each message, around any transport (stdio today, HTTP
 * later). 2025-era messages carry no envelope and pass untouched.
 */
import {
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';

/** JSON-RPC error code of UnsupportedProtocolVersionError (2026-07-28). */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/**
 * The per-request revisions this server implements (what server/discover lists; the SDK's exported
 * SUPPORTED_PROTOCOL_VERSIONS names only the initialize-era ones, which it negotiates itself).
 */
export const MODERN_PROTOCOL_VERSIONS: readonly string[] = ['2026-07-28'];
const KNOWN_VERSIONS: readonly string[] = [...MODERN_PROTOCOL_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];

type OnMessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

export class VersionGatedTransport implements Transport {
  private deliver?: OnMessage;

  constructor(
    private readonly inner: Transport,
    private readonly onRefused: (requested: string) => void = () => undefined,
  ) {
    inner.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => this.receive(message, extra);
  }

  get onmessage(): OnMessage | undefined {
    return this.deliver;
  }

  set onmessage(handler: OnMessage | undefined) {
    this.deliver = handler;
  }

  get onclose(): (() => void) | undefined {
    return this.inner.onclose;
  }

  set onclose(handler: (() => void) | undefined) {
    this.inner.onclose = handler;
  }

  get onerror(): ((error: Error) => void) | undefined {
    return this.inner.onerror;
  }

  set onerror(handler: ((error: Error) => void) | undefined) {
    this.inner.onerror = handler;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const requested = claimedVersion(message);
    if (requested !== undefined && !KNOWN_VERSIONS.includes(requested) && 'id' in message) {
      this.onRefused(requested);
      void this.inner.send({
        jsonrpc: '2.0',
        id: message.id,
        error: {
          code: UNSUPPORTED_PROTOCOL_VERSION,
          message: `Unsupported protocol version: ${requested}`,
          data: { supported: [...MODERN_PROTOCOL_VERSIONS], requested },
        },
      } as JSONRPCMessage);
      return;
    }
    this.deliver?.(message, extra);
  }
}

/** The protocol version a request names in its `_meta` envelope, if it names one. */
function claimedVersion(message: JSONRPCMessage): string | undefined {
  if (!('method' in message)) return undefined;
  const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const version = meta?.[PROTOCOL_VERSION_META_KEY];
  return typeof version === 'string' ? version : undefined;
}
