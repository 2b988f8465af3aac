import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../clock.js';
import type { RuntimeEvents, RuntimeEventType } from '../../events/runtime-events.js';
import type { LogEntry } from '../../operations/log-entry.js';
import { SECTION_NAMES, sectionKey, type DashboardSections, type DashboardState, type SectionName } from './dashboard-state.js';

/** One frame of the stream: the sections that changed, each whole; `logs` only reaches token holders. */
export interface DashboardFrame {
  readonly id: number;
  readonly sections: Partial<DashboardSections>;
  readonly logs: readonly LogEntry[] | undefined;
}

export interface DashboardHubOptions {
  readonly state: DashboardState;
  readonly events: RuntimeEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The recent warn lines, and the seq of the newest (a change of it is news for token holders). */
  readonly logs: () => { readonly lines: readonly LogEntry[]; readonly next: number };
  /** DASHBOARD_MAX_CLIENTS. */
  readonly maxClients: number;
  /** Bytes a client may leave unread before it is dropped. */
  readonly clientBufferBytes: number;
  /** At most one frame per this, per client (250 ms). */
  readonly coalesceMs?: number;
  /** Counters (batching, uptimes) are sampled this often even when no event says so. */
  readonly sampleMs?: number;
  /** Frames kept for clients that come back with Last-Event-ID. */
  readonly ringSize?: number;
}

export interface DashboardStats {
  readonly clients: number;
  readonly frames: number;
  /** Clients cut off because they stopped reading (their unread bytes passed the limit). */
  readonly dropped: number;
  /** Connections refused at DASHBOARD_MAX_CLIENTS. */
  readonly refused: number;
  /** Resumes answered with the deltas missed, and with a fresh snapshot (too old, or from before a restart). */
  readonly resumed: number;
  readonly resnapshotted: number;
  readonly bytesSent: number;
}

interface Client {
  readonly response: ServerResponse;
  readonly admin: boolean;
}

/** Events that make a section stale at once; anything else shows at the next sample (at most `sampleMs`). */
const STALE_ON: readonly RuntimeEventType[] = ['failed', 'restarting', 'gave_up', 'escalated', 'check', 'session', 'dead_lettered', 'admin', 'action_failed'];
const HEARTBEAT_MS = 15_000;
/**
 * How long the hub keeps reading after its last client left, so a page that reconnects (a
 * network blip, a reload) still resumes from the ring; then it goes idle: nobody watching
 * costs nothing (reading the state walks the tree, 10,000 batchers and all).
 */
const IDLE_AFTER_MS = 30_000;
const LOG_LINES = 50;

/**
 * The dashboard's Server-Sent Events: one producer per HTTP server, any number of readers up
 * to DASHBOARD_MAX_CLIENTS. Events mark the state stale; a tick at most every 250 ms reads
 * it, and a frame carries the sections whose content changed (sectionKey), so every client
 * gets at most one frame per tick and an idle runtime sends nothing but a heartbeat comment.
 * Frames are numbered and the last `ringSize` kept: a client that reconnects with
 * Last-Event-ID gets exactly what it missed, or a fresh snapshot when that is gone. A client
 * that stops reading is dropped once its unread bytes pass the limit: never buffered without
 * bound, never waited for.
 */
export class DashboardHub {
  readonly #options: DashboardHubOptions;
  readonly #clients = new Set<Client>();
  readonly #ring: DashboardFrame[] = [];
  readonly #keys = new Map<SectionName, string>();
  #current: DashboardSections | undefined;
  #logs: readonly LogEntry[] = [];
  #logSeq = -1;
  #nextId = 1;
  /**
   * Frame ids are `<boot>-<n>`: a page that comes back to a new server (a restarted /http)
   * with an id of the old one gets a snapshot, never the new server's frames as if it had
   * missed only those.
   */
  readonly #boot = randomUUID().slice(0, 8);
  #stale = true;
  #lastSampleAt = 0;
  #timer: TimerHandle | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #reading: Promise<void> | undefined;
  #closed = false;
  /** When the last client left; the hub reads nothing once it has been alone for IDLE_AFTER_MS. */
  #aloneSince: number | undefined;
  #stats = { frames: 0, dropped: 0, refused: 0, resumed: 0, resnapshotted: 0, bytesSent: 0 };

  constructor(options: DashboardHubOptions) {
    this.#options = options;
  }

  get stats(): DashboardStats {
    return { clients: this.#clients.size, ...this.#stats };
  }

  /** A connection turned away before it reached `attach` (the route checks the limit first). */
  noteRefused(): void {
    this.#stats.refused++;
  }

  start(): void {
    this.#unsubscribe = this.#options.events.subscribe(
      () => {
        this.#stale = true;
      },
      { types: STALE_ON, name: 'dashboard' },
    );
    // Nothing is read until a page attaches.
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) this.#write(client, ': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /**
   * Takes an SSE response (headers not yet sent): refused with false at the client limit.
   * Sends a snapshot, or the frames after `lastEventId` when the ring still has them.
   */
  async attach(response: ServerResponse, options: { readonly admin: boolean; readonly lastEventId: string | undefined }): Promise<boolean> {
    if (this.#clients.size >= this.#options.maxClients) {
      this.#stats.refused++;
      return false;
    }
    const client: Client = { response, admin: options.admin };
    this.#clients.add(client);
    this.#aloneSince = undefined;
    if (this.#timer === undefined) this.#schedule();
    response.on('close', () => this.#detach(client));
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // A proxy must not hold frames back (nginx buffers responses by default).
      'x-accel-buffering': 'no',
    });
    response.write('retry: 1000\n\n');
    if (!this.#current) await this.#refresh();
    const last = this.#ownId(options.lastEventId);
    const oldest = this.#ring[0]?.id;
    if (last !== undefined && oldest !== undefined && last >= oldest - 1 && last < this.#nextId) {
      this.#stats.resumed++;
      for (const frame of this.#ring) if (frame.id > last) this.#send(client, frame);
      return true;
    }
    if (options.lastEventId !== undefined) this.#stats.resnapshotted++;
    this.#snapshot(client);
    return true;
  }

  #detach(client: Client): void {
    if (this.#clients.delete(client) && this.#clients.size === 0) this.#aloneSince = this.#options.clock.now();
  }

  /**
   * Nobody has watched for IDLE_AFTER_MS: stop reading, and forget the frames (none are made
   * while idle, so a resume across the gap would miss changes: it gets a snapshot instead).
   */
  #goIdle(): void {
    this.#timer = undefined;
    this.#ring.length = 0;
    this.#keys.clear();
    this.#current = undefined;
    this.#logSeq = -1;
  }

  /** The frame number of an id this server gave, or undefined (another server's, or not an id). */
  #ownId(id: string | undefined): number | undefined {
    const match = id === undefined ? null : /^([0-9a-f]{8})-(\d{1,15})$/.exec(id);
    return match && match[1] === this.#boot ? Number(match[2]) : undefined;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#timer) this.#options.clock.clearTimeout(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#options.clock.setTimeout(() => void this.#tick(), this.#options.coalesceMs ?? 250);
  }

  async #tick(): Promise<void> {
    const now = this.#options.clock.now();
    if (this.#clients.size === 0 && this.#aloneSince !== undefined && now - this.#aloneSince >= IDLE_AFTER_MS) {
      this.#goIdle();
      return;
    }
    try {
      const logsChanged = this.#options.logs().next !== this.#logSeq;
      if (this.#stale || logsChanged || now - this.#lastSampleAt >= (this.#options.sampleMs ?? 1_000)) await this.#refresh();
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'dashboard: could not read the state; trying again');
    } finally {
      this.#schedule();
    }
  }

  /** Reads the state; when something changed, makes it a frame and sends it to every client. */
  #refresh(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        this.#stale = false;
        this.#lastSampleAt = this.#options.clock.now();
        const sections = await this.#options.state.read();
        const changed: Partial<Record<SectionName, unknown>> = {};
        let any = false;
        for (const name of SECTION_NAMES) {
          const key = sectionKey(name, sections[name]);
          if (this.#keys.get(name) !== key) {
            this.#keys.set(name, key);
            changed[name] = sections[name];
            any = true;
          }
        }
        const logs = this.#options.logs();
        let newLogs: readonly LogEntry[] | undefined;
        if (logs.next !== this.#logSeq) {
          this.#logSeq = logs.next;
          this.#logs = logs.lines.slice(-LOG_LINES);
          newLogs = this.#logs;
        }
        const first = this.#current === undefined;
        this.#current = sections;
        if (first || (!any && newLogs === undefined)) return;
        const frame: DashboardFrame = { id: this.#nextId++, sections: changed as Partial<DashboardSections>, logs: newLogs };
        this.#ring.push(frame);
        if (this.#ring.length > (this.#options.ringSize ?? 1_000)) this.#ring.shift();
        this.#stats.frames++;
        for (const client of this.#clients) this.#send(client, frame);
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  #snapshot(client: Client): void {
    const current = this.#current;
    if (!current) return;
    const body = client.admin ? { ...current, logs: this.#logs } : current;
    this.#write(client, `id: ${this.#boot}-${this.#nextId - 1}\nevent: snapshot\ndata: ${JSON.stringify(body)}\n\n`);
  }

  #send(client: Client, frame: DashboardFrame): void {
    const body = client.admin && frame.logs ? { ...frame.sections, logs: frame.logs } : frame.sections;
    // A logs-only frame still moves a reader without the token to its id: nothing is missed on resume.
    this.#write(client, `id: ${this.#boot}-${frame.id}\nevent: delta\ndata: ${JSON.stringify(body)}\n\n`);
  }

  #write(client: Client, text: string): void {
    const response = client.response;
    if (response.destroyed || response.writableEnded) return;
    const flowing = response.write(text);
    this.#stats.bytesSent += Buffer.byteLength(text);
    // Only once the socket pushes back (the kernel's buffers are full) does what waits count:
    // a snapshot written before the first flush is not a slow reader.
    if (!flowing && response.writableLength > this.#options.clientBufferBytes) {
      this.#stats.dropped++;
      this.#detach(client);
      this.#options.logger.warn({ unreadBytes: response.writableLength }, 'dashboard: a client stopped reading; dropped it');
      response.destroy();
    }
  }
}
