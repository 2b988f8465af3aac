export interface AskOptions {
  /** Defaults to the runtime's ask timeout. */
  timeoutMs?: number;
}

/**
 * A stable handle to an actor: it stays valid across restarts of the actor, whichever
 * thread it runs on.
 */
export interface ActorRef<M, R = void> {
  readonly path: string;
  /**
   * Fire and forget. Returns false when the message was not enqueued: the mailbox was full
   * under `reject` or `drop_newest`, or the actor is gone. Refusals are counted.
   * For a thread-placed actor the mailbox lives in its worker: `tell` returns true once the
   * message is on its way, and a refusal there is counted in the tree's `mailbox.dropped`
   * (an `ask` still fails with WAR_ERR_MAILBOX_FULL).
   */
  tell(message: M): boolean;
  /** Resolves with what `receive` returned; rejects with WAR_ERR_ASK_TIMEOUT, WAR_ERR_MAILBOX_FULL, WAR_ERR_ACTOR_STOPPED or WAR_ERR_ACTOR_FAILED. */
  ask(message: M, options?: AskOptions): Promise<R>;
}
