import type { EventEmitter, OrchestratorEvent } from '../../src/telemetry/events.js';

/** Collects emitted events in memory so unit tests can assert what a module reported. */
export class RecordingEmitter implements EventEmitter {
  readonly events: OrchestratorEvent[] = [];
  emit(event: OrchestratorEvent): void {
    this.events.push(event);
  }
  ofType<T extends OrchestratorEvent['type']>(type: T): Extract<OrchestratorEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<OrchestratorEvent, { type: T }> => e.type === type);
  }
}
