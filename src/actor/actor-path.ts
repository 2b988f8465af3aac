declare const messageType: unique symbol;
declare const replyType: unique symbol;

/**
 * A path that knows what the actor there takes (`M`) and answers (`R`). It is a plain string
 * at run time (so it crosses a thread boundary in an actor's args), but `ctx.lookup` only
 * takes one of these: a message of the wrong type to a known path is a compile error, not a
 * message the actor does not understand. A plain string is not one: `actorPath()` makes it.
 */
export type ActorPath<M, R = unknown> = string & {
  /** Contravariant: a path to an actor taking `M` serves a caller that only sends part of `M`. */
  readonly [messageType]: (message: M) => void;
  readonly [replyType]: () => R;
};

export function actorPath<M, R = unknown>(path: string): ActorPath<M, R> {
  return path as ActorPath<M, R>;
}
