/**
 * stderr is JSON lines only, under every circumstance: Node's own process warnings
 * (`MaxListenersExceededWarning`, deprecations) and a crash's uncaught error or unhandled
 * rejection would otherwise print plain text there, and a `jq` reading the trail stops at the
 * first such line. The guard turns each into an `error` event of the event model.
 */
import type { EventEmitter } from './events.js';

export interface ProcessGuardOptions {
  /** Called after a fatal line was emitted: flush and exit (never returns normally). */
  exit: (code: number) => void;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** Routes process warnings and uncaught errors through `emitter`; returns an uninstaller. */
export function installProcessGuard(emitter: EventEmitter, options: ProcessGuardOptions): () => void {
  const originalEmitWarning = process.emitWarning;
  // Node prints every warning to stderr unless started with --no-warnings; replacing the one
  // function that raises them (events, deprecations and streams all call it) keeps stderr JSON.
  const emitWarning = (warning: string | Error, typeOrOptions?: unknown, code?: unknown): void => {
    const type =
      typeof typeOrOptions === 'string'
        ? typeOrOptions
        : ((typeOrOptions as { type?: string } | undefined)?.type ??
          (warning instanceof Error ? warning.name : 'Warning'));
    const warningCode = typeof code === 'string' ? code : (typeOrOptions as { code?: string } | undefined)?.code;
    const message = warning instanceof Error ? warning.message : warning;
    emitter.emit({
      type: 'error',
      level: 'warn',
      msg: 'process_warning',
      error: `${type}${warningCode ? ` [${warningCode}]` : ''}: ${message}`,
    });
  };
  process.emitWarning = emitWarning as typeof process.emitWarning;
  const fatal =
    (kind: string) =>
    (reason: unknown): void => {
      emitter.emit({ type: 'error', level: 'error', msg: kind, error: describe(reason) });
      options.exit(1);
    };
  const onException = fatal('uncaught_exception');
  const onRejection = fatal('unhandled_rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.emitWarning = originalEmitWarning;
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
