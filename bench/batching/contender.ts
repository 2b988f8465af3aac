/**
 * What the batching benches drive: ours (a whole Runtime on any of its three stores) and the two
 * baselines (a Redis poll loop, a BullMQ debounce) behind one shape, each delivering into
 * a DeliveryLedger from its own handler.
 */
import type { DeliveryLedger } from './delivery-ledger.js';

export interface BenchMessage {
  /** Normalised digits; the conversation (session `default`). */
  readonly phone: string;
  /** Unique per message in a suite run. */
  readonly id: string;
  readonly text: string;
}

export interface Contender {
  readonly name: string;
  /** Resolves once the message is stored (accepted); rejects otherwise. */
  accept(message: BenchMessage): Promise<void>;
  /** Stops everything it started (runtime, workers, loops, connections). */
  close(): Promise<void>;
}

export interface ContenderOptions {
  readonly windowMs: number;
  readonly ledger: DeliveryLedger;
  readonly redisUrl: string;
  /** Every Redis key of this contender starts with it (under the suite's root prefix). */
  readonly prefix: string;
}

export type ContenderKind = 'memory' | 'sqlite' | 'redis' | 'poll' | 'bullmq';

export type ContenderFactory = (options: ContenderOptions) => Promise<Contender>;
