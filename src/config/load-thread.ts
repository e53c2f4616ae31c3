/**
 * The worker side of off-thread.ts: loads the config directory (loadConfigHere) away from the
 * event loop. Events the load emits go back as they happen, then the packed config or the
 * issues. Nothing here writes to stdout or stderr.
 */
import { parentPort } from 'node:worker_threads';
import type { EventEmitter, OrchestratorEvent } from '../telemetry/events.js';
import { ConfigError } from './errors.js';
import { loadConfigHere } from './load.js';
import { packConfig, type LoadReply, type LoadRequest } from './off-thread.js';

function post(reply: LoadReply): void {
  parentPort?.postMessage(reply);
}

/** Events are plain data; one that could not be cloned goes as its JSON form instead. */
function forward(id: number): EventEmitter {
  return {
    emit: (event: OrchestratorEvent) => {
      try {
        post({ id, kind: 'event', event });
      } catch {
        post({ id, kind: 'event', event: JSON.parse(JSON.stringify(event)) as OrchestratorEvent });
      }
    },
  };
}

async function load({ id, dirs }: LoadRequest): Promise<void> {
  try {
    post({ id, kind: 'loaded', config: packConfig(await loadConfigHere(dirs, forward(id))) });
  } catch (error) {
    if (error instanceof ConfigError) {
      post({ id, kind: 'invalid', issues: error.issues });
      return;
    }
    const err = error instanceof Error ? error : new Error(String(error));
    const code = (err as NodeJS.ErrnoException).code;
    post({ id, kind: 'failed', name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) });
  }
}

parentPort?.on('message', (request: LoadRequest) => void load(request));
post({ id: 0, kind: 'ready' });
