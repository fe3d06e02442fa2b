/** Keeps a run's output in ring-buffer order when some events need asynchronous work (a map read, clear(), system()). */

/**
 * Runs `handle` on each record in order: at once while nothing asynchronous is pending, else after
 * what is pending (on a copy: ring-buffer records are reused once consumed).
 */
export class OrderedEvents {
  private tail: Promise<void> | undefined;

  constructor(private readonly handle: (record: Uint8Array) => void | Promise<void>) {}

  push(record: Uint8Array): void {
    if (this.tail) {
      const copy = record.slice();
      this.tail = this.tail.then(() => this.handle(copy));
      return;
    }
    const pending = this.handle(record);
    if (pending) this.tail = pending;
  }

  /** Resolves when every pushed record has been handled (rejects with a handler's error). */
  async settle(): Promise<void> {
    while (this.tail) {
      const t = this.tail;
      try {
        await t;
      } finally {
        if (this.tail === t) this.tail = undefined;
      }
    }
  }
}
