/**
 * Span helpers over the OpenTelemetry API only (no SDK): when tracing is off these are
 * no-ops, so the command path pays nothing for them.
 */
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

const tracer = () => trace.getTracer('mcp-ssh-orchestrator');

export { SpanKind };

/** Runs `fn` inside a new span (child of the active one) and ends it, recording failures. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  return tracer().startActiveSpan(
    name,
    { attributes, kind: options.kind ?? SpanKind.INTERNAL },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        markError(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

export function markError(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  if (err instanceof Error) span.recordException(err);
}

/**
 * The parent context a client sent in an MCP request's `_meta`: W3C `traceparent`/`tracestate`
 * (and `baggage`) with the default propagators, or whatever fields the propagators chosen with
 * OTEL_PROPAGATORS read (`b3`, ...).
 */
export function contextFromMeta(meta: Record<string, unknown> | undefined): Context {
  if (!meta) return context.active();
  const carrier: Record<string, string> = {};
  for (const field of propagation.fields()) {
    const value = meta[field];
    if (typeof value === 'string') carrier[field] = value;
  }
  if (Object.keys(carrier).length === 0) return context.active();
  return propagation.extract(context.active(), carrier);
}

/** trace/span ids of the active span, for stamping stderr lines. */
export function activeIds(): { trace_id: string; span_id: string } | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  if (!ctx || !trace.isSpanContextValid(ctx)) return undefined;
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}
