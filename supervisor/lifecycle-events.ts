import type { NodeError } from './tree-node.js';

/**
 * What supervisors publish about their children, into the runtime's event stream
 * (src/events/runtime-events.ts). `outage`: the failure was a dependency child's outage
 * (supervisor/restart-rule.ts), retried for ever and never escalated.
 */
export type LifecycleEvent =
  | { readonly type: 'started'; readonly path: string; readonly at: number; readonly restarts: number }
  | { readonly type: 'failed'; readonly path: string; readonly at: number; readonly error: NodeError; readonly outage: boolean }
  | {
      readonly type: 'restarting';
      readonly path: string;
      readonly at: number;
      readonly attempt: number;
      readonly delayMs: number;
      /** Every child this restart takes down and brings back (the strategy's set), in start order. */
      readonly members: readonly string[];
      readonly manual: boolean;
      readonly outage: boolean;
    }
  | { readonly type: 'stopped'; readonly path: string; readonly at: number; readonly reason: 'normal' | 'failure' }
  | { readonly type: 'gave_up'; readonly path: string; readonly at: number; readonly attempts: number }
  | { readonly type: 'escalated'; readonly path: string; readonly at: number; readonly reason: string };

export type LifecycleEventType = LifecycleEvent['type'];

export const LIFECYCLE_EVENT_TYPES: readonly LifecycleEventType[] = ['started', 'failed', 'restarting', 'stopped', 'gave_up', 'escalated'];

/** Where a supervisor publishes: the runtime's event bus, seen through the part supervisors use. */
export interface LifecycleSink {
  publish(event: LifecycleEvent): void;
  /** A hot path (a dynamic child's start) builds an event only if some subscriber takes its type. */
  wants(type: LifecycleEventType): boolean;
}
