/** Where a session's actors live in the tree: /whatsapp/<id>/{gateway,socket}. */
export const WHATSAPP_PATH = '/whatsapp';

export interface SessionPaths {
  readonly session: string;
  /** Main thread: send queue, status, inbound into the batchers. Pipeline replies go here. */
  readonly gateway: string;
  /** The session's worker thread: the Baileys socket. */
  readonly socket: string;
}

export function sessionPaths(sessionId: string): SessionPaths {
  const session = `${WHATSAPP_PATH}/${sessionId}`;
  return { session, gateway: `${session}/gateway`, socket: `${session}/socket` };
}
