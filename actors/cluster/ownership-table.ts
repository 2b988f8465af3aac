/** A session this node holds: the fence its lease was acquired with, and when it was last renewed. */
export interface OwnedSession {
  readonly fence: number;
  renewedAt: number;
}

/** Who holds a session as the last sweep saw it: a node and its fence, or nobody. */
export type SessionHolder = { readonly node: string; readonly fence: number } | null;

/**
 * What this node knows of session ownership, shared by the parts that act on it: the
 * ownership actor writes it; the gateways read their fence from it for every fenced write;
 * the directory and the WhatsApp monitor read whether a session runs here. Created per
 * runtime and passed at spawn (never a module-level map).
 */
export class OwnershipTable {
  readonly nodeId: string;
  readonly #owned = new Map<string, OwnedSession>();
  readonly #seen = new Map<string, SessionHolder>();

  constructor(nodeId: string) {
    this.nodeId = nodeId;
  }

  /** The fence this node holds the session with; undefined when it does not hold it. */
  fence(sessionId: string): number | undefined {
    return this.#owned.get(sessionId)?.fence;
  }

  isLocal(sessionId: string): boolean {
    return this.#owned.has(sessionId);
  }

  owned(): ReadonlyMap<string, OwnedSession> {
    return this.#owned;
  }

  take(sessionId: string, fence: number, at: number): void {
    this.#owned.set(sessionId, { fence, renewedAt: at });
    this.#seen.set(sessionId, { node: this.nodeId, fence });
  }

  drop(sessionId: string): void {
    this.#owned.delete(sessionId);
    if (this.#seen.get(sessionId)?.node === this.nodeId) this.#seen.set(sessionId, null);
  }

  /** The holder the last sweep saw (this node's own sessions always as itself); undefined before the first sweep. */
  holder(sessionId: string): SessionHolder | undefined {
    const own = this.#owned.get(sessionId);
    return own ? { node: this.nodeId, fence: own.fence } : this.#seen.get(sessionId);
  }

  saw(sessionId: string, holder: SessionHolder): void {
    if (!this.#owned.has(sessionId)) this.#seen.set(sessionId, holder);
  }
}
