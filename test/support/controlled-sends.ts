import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/** One send the controlled socket saw acknowledged (test/support/controlled-wa-socket.ts). */
export interface AckedSend {
  readonly sessionId: string;
  readonly jid: string;
  readonly text: string;
  readonly messageId: string;
  readonly threadId: number;
}

export interface AcceptedSend {
  readonly id: string;
  readonly to: string;
}

export function ackedSends(controlDir: string): AckedSend[] {
  const file = join(controlDir, 'sent.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as AckedSend);
}

/**
 * The outbound guarantee, as the acknowledgements show it: every accepted message was
 * acknowledged, each recipient got its messages in acceptance order, and a message appears
 * more than once only as a resend under its own id, at most `maxResends` times in all (a
 * kill between WhatsApp's acknowledgement and the store's removal).
 */
export function expectSentInOrder(accepted: readonly AcceptedSend[], acked: readonly AckedSend[], maxResends: number): void {
  const ids = new Set(accepted.map((each) => each.id));
  expect(acked.filter((each) => !ids.has(each.messageId))).toEqual([]);
  const firstSeen = new Map<string, number>();
  acked.forEach((each, index) => {
    if (!firstSeen.has(each.messageId)) firstSeen.set(each.messageId, index);
  });
  expect(accepted.filter((each) => !firstSeen.has(each.id)).map((each) => each.id)).toEqual([]);
  expect(acked.length - firstSeen.size).toBeLessThanOrEqual(maxResends);
  const byRecipient = new Map<string, string[]>();
  for (const each of accepted) byRecipient.set(each.to, [...(byRecipient.get(each.to) ?? []), each.id]);
  for (const [to, inOrder] of byRecipient) {
    const sentOrder = [...inOrder].sort((a, b) => (firstSeen.get(a) as number) - (firstSeen.get(b) as number));
    expect({ to, order: sentOrder }).toEqual({ to, order: inOrder });
  }
}
