// A tiny event emitter: the only way UI modules hear from the protocol side.
export class Emitter {
  #handlers = new Map();

  /** Subscribe; returns a function that unsubscribes. */
  on(name, handler) {
    if (!this.#handlers.has(name)) this.#handlers.set(name, new Set());
    this.#handlers.get(name).add(handler);
    return () => this.#handlers.get(name)?.delete(handler);
  }

  emit(name, detail) {
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        handler(detail);
      } catch (err) {
        // A broken listener must not break the protocol side.
        console.warn(`listener for "${name}" failed`, err);
      }
    }
  }
}
