import type { BenchMessage } from './contender.js';
import type { DeliveryLedger } from './delivery-ledger.js';

/**
 * How both Redis baselines keep a conversation's pending messages: a Redis list of
 * `[id, text, at]` JSON entries, drained whole (LRANGE + DEL in one MULTI) when due.
 */
type ListEntry = [id: string, text: string, at: number];

export function listEntry(message: BenchMessage, at: number): string {
  const entry: ListEntry = [message.id, message.text, at];
  return JSON.stringify(entry);
}

/** Records a drained list (the LRANGE reply of the MULTI) as one quiet delivery; an empty list was already taken. */
export function recordDrainedList(ledger: DeliveryLedger, phone: string, raw: unknown, deliveredAt: number): void {
  if (!Array.isArray(raw) || raw.length === 0) return;
  const entries = (raw as string[]).map((item) => JSON.parse(item) as ListEntry);
  let lastAt = 0;
  for (const entry of entries) lastAt = Math.max(lastAt, entry[2]);
  ledger.record({ deliveredAt, conversation: phone, ids: entries.map((entry) => entry[0]), lastAt, reason: 'quiet' });
}
