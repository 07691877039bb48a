import { EventEmitter } from 'node:events';
import type { EventKey, EventPayload } from '../../src-shared/ipc';

/**
 * The main-process event bus. Services emit contract events here; the Electron layer and the
 * WebSocket bridge forward them to their clients.
 */
export class AppEvents {
  private readonly emitter = new EventEmitter();

  emit<K extends EventKey>(key: K, payload: EventPayload<K>): void {
    this.emitter.emit('event', key, payload);
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  onAny(listener: (key: EventKey, payload: unknown) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
