/** One line the ring kept, as pino wrote it (already redacted), with its place in the ring's sequence. */
export interface RingLine {
  readonly seq: number;
  readonly line: string;
}

/**
 * The last `capacity` log lines, kept as the strings pino wrote: a write is one slot
 * assignment (no parse, no copy), so the ring costs the hot path next to nothing; lines are
 * parsed only when someone reads them. pino's redaction has already run on what arrives here,
 * so `logs` shows secrets exactly as the process's own output does: not at all.
 *
 * It is a pino destination (`write`); the runtime's logger writes to it through a multistream
 * at the ring's level. `seq` grows by one per line, so a reader can follow (`after`).
 */
export class LogRing {
  readonly capacity: number;
  readonly #lines: (string | undefined)[];
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#lines = new Array<string | undefined>(capacity);
  }

  write(line: string): void {
    if (this.capacity === 0) return;
    this.#lines[this.#next % this.capacity] = line;
    this.#next++;
  }

  /** The sequence number the next line will get. */
  get nextSeq(): number {
    return this.#next;
  }

  /** Lines after `after` (a seq), oldest first, at most the newest `limit` of them. */
  read(options: { after?: number; limit: number }): RingLine[] {
    const first = Math.max(this.#next - this.capacity, options.after === undefined ? 0 : options.after + 1, this.#next - options.limit, 0);
    const out: RingLine[] = [];
    for (let seq = first; seq < this.#next; seq++) {
      const line = this.#lines[seq % this.capacity];
      if (line !== undefined) out.push({ seq, line: line.endsWith('\n') ? line.slice(0, -1) : line });
    }
    return out;
  }
}

/** Where lines at info and above, and at warn and above, also go: the rings, or (in a worker thread) the port to them. */
export interface LogSinks {
  readonly warn: { write(line: string): void };
  readonly info: { write(line: string): void };
}

/**
 * Where `logs` reads from: warn and above in one ring, info and above in another, each
 * LOG_BUFFER_LINES long, so a busy info stream never pushes the warnings out.
 */
export interface LogRings {
  readonly warn: LogRing;
  readonly info: LogRing;
}

export function createLogRings(capacity: number): LogRings {
  return { warn: new LogRing(capacity), info: new LogRing(capacity) };
}
