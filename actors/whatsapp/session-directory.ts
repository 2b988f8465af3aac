import type { ActorRef } from '../../src/actor/actor-ref.js';
import { RuntimeError } from '../../src/errors.js';
import { unwrap, type GatewayMessage, type Outcome, type PairReply, type QrInfo, type RepairReply, type SendAccepted, type SendRequest, type SessionInfo, type SocketMessage, type SocketReply } from './session-protocol.js';
import { sessionPaths } from '../../src/tree-paths.js';
import type { OwnershipTable } from '../cluster/ownership-table.js';

/** How the HTTP API reaches the sessions: by id, through their actors. */
export class SessionDirectory {
  readonly ids: readonly string[];
  readonly #lookup: <M, R>(path: string) => ActorRef<M, R> | undefined;
  readonly #askTimeoutMs: number;
  readonly #pairTimeoutMs: number;
  readonly #ownership: OwnershipTable | undefined;

  constructor(options: { ids: readonly string[]; lookup: <M, R>(path: string) => ActorRef<M, R> | undefined; askTimeoutMs: number; pairTimeoutMs: number; ownership?: OwnershipTable }) {
    this.#ownership = options.ownership;
    this.ids = options.ids;
    this.#lookup = options.lookup;
    this.#askTimeoutMs = options.askTimeoutMs;
    this.#pairTimeoutMs = options.pairTimeoutMs;
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  /**
   * Undefined when the session runs here (always, on a single node); else the node that owns
   * it, or null while nobody does (runtimes sharing the sessions on one Redis).
   */
  runsElsewhere(id: string): string | null | undefined {
    if (!this.#ownership || this.#ownership.isLocal(id)) return undefined;
    return this.#ownership.holder(id)?.node ?? null;
  }

  async info(id: string): Promise<SessionInfo> {
    return (await this.#gateway(id).ask({ type: 'info' }, { timeoutMs: this.#askTimeoutMs })) as SessionInfo;
  }

  /** The sessions running here (all of WA_SESSIONS on a single node). */
  async all(): Promise<SessionInfo[]> {
    return Promise.all(this.ids.filter((id) => this.runsElsewhere(id) === undefined).map((id) => this.info(id)));
  }

  /** The sessions another node runs, or nobody yet (runtimes sharing the sessions). */
  elsewhere(): { id: string; owner: string | null }[] {
    return this.ids.flatMap((id) => {
      const owner = this.runsElsewhere(id);
      return owner === undefined ? [] : [{ id, owner }];
    });
  }

  /** Every session's info, or undefined for one whose gateway does not answer: one slow session never hides the others. */
  async sample(): Promise<{ id: string; info: SessionInfo | undefined }[]> {
    return Promise.all(this.ids.map(async (id) => ({ id, info: await this.info(id).catch(() => undefined) })));
  }

  async qr(id: string): Promise<QrInfo> {
    return (await this.#gateway(id).ask({ type: 'qr_code' }, { timeoutMs: this.#askTimeoutMs })) as QrInfo;
  }

  async send(id: string, request: SendRequest): Promise<SendAccepted> {
    return unwrap((await this.#gateway(id).ask({ type: 'send', ...request }, { timeoutMs: this.#askTimeoutMs })) as Outcome<SendAccepted>);
  }

  async pair(id: string, phone: string | undefined): Promise<PairReply> {
    const socket = this.#socket(id);
    return unwrap((await socket.ask(phone === undefined ? { type: 'pair' } : { type: 'pair', phone }, { timeoutMs: this.#pairTimeoutMs })) as Outcome<PairReply>);
  }

  /** Clears the session's Signal sessions (credentials kept) and connects again; its socket must be running. */
  async repair(id: string): Promise<RepairReply> {
    const socket = this.#socket(id);
    return unwrap((await socket.ask({ type: 'repair' }, { timeoutMs: this.#pairTimeoutMs })) as Outcome<RepairReply>);
  }

  /** Whether the session's socket actor is up (not backing off, not given up). */
  socketRunning(id: string): boolean {
    this.#known(id);
    return this.#lookup(sessionPaths(id).socket) !== undefined;
  }

  #socket(id: string): ActorRef<SocketMessage, SocketReply> {
    this.#known(id);
    this.#here(id);
    const socket = this.#lookup<SocketMessage, SocketReply>(sessionPaths(id).socket);
    if (!socket) throw new RuntimeError('WAR_ERR_WA_NOT_OPEN', `the socket of session ${id} is not running`);
    return socket;
  }

  #here(id: string): void {
    const elsewhere = this.runsElsewhere(id);
    if (elsewhere === undefined) return;
    throw new RuntimeError('WAR_ERR_WA_NOT_OWNER', elsewhere ? `session ${id} runs on node ${elsewhere}; send there` : `session ${id} is not owned by any node yet; retry shortly`);
  }

  #known(id: string): void {
    if (!this.has(id)) throw new RuntimeError('WAR_ERR_WA_UNKNOWN_SESSION', `no session ${JSON.stringify(id)} (WA_SESSIONS: ${this.ids.join(', ') || 'none'})`);
  }

  #gateway(id: string): ActorRef<GatewayMessage, unknown> {
    this.#known(id);
    this.#here(id);
    const gateway = this.#lookup<GatewayMessage, unknown>(sessionPaths(id).gateway);
    if (!gateway) throw new RuntimeError('WAR_ERR_WA_UNKNOWN_SESSION', `session ${id} is not running`);
    return gateway;
  }
}
