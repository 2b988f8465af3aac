import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AlertsAccess } from '../../actors/alerts/alerts-feature.js';
import type { Silence, SilenceMatcher } from '../../actors/alerts/silences.js';
import type { StoreCounts, BatchStore } from '../../actors/batcher/batch-store.js';
import type { DeadLetters } from '../../actors/batcher/dead-letters.js';
import type { RecoveryMessage, SweepResult } from '../../actors/batcher/recovery.js';
import type { FlushedBatch } from '../../actors/pipeline/handler.js';
import type { DryRunResult, PipelineStatus } from '../../actors/pipeline/pipeline.js';
import type { SessionDirectory } from '../../actors/whatsapp/session-directory.js';
import { isHalted, type SessionStatus } from '../../actors/whatsapp/session-status.js';
import { walkTree, type TreeNode } from '../../supervisor/tree-node.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { describe, RuntimeError } from '../errors.js';
import type { AdminOperation, RuntimeEvents } from '../events/runtime-events.js';
import type { CheckResult } from '../health/health-checks.js';
import type { HealthChecks } from '../health/health-checks.js';
import { assessHealth, type HealthStatus, type TreeCheck } from '../health/health-score.js';
import type { LogRings } from '../logging/log-ring.js';
import { sessionPaths } from '../tree-paths.js';
import { audit } from './audit.js';
import type { Initiator } from './initiator.js';
import { parseLogLine, type LogEntry, type LogLevelFloor } from './log-entry.js';
import { statusRows, type StatusRow } from './status-report.js';

/** What the operations reach: the tree, the stores and the sessions, passed at spawn like everything else. */
export interface OperationsDeps {
  readonly config: Config;
  readonly tree: {
    snapshot(): TreeNode;
    restart(path: string): Promise<void>;
    /** A supervisor with a child template (one batcher per conversation). */
    isDynamic(path: string): boolean;
  };
  readonly checks: HealthChecks;
  readonly events: RuntimeEvents;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly batching?: {
    readonly store: BatchStore;
    readonly deadLetters: DeadLetters;
    /** Asks `/recovery` for a sweep now; undefined when it does not answer. */
    sweep(request: RecoveryMessage): Promise<SweepResult | undefined>;
    pipelineStatus(): Promise<PipelineStatus | undefined>;
    dryRun(batch: FlushedBatch): Promise<DryRunResult>;
  };
  readonly sessions?: SessionDirectory;
  readonly alerts?: AlertsAccess;
  readonly logs?: LogRings;
}

export interface StatusReport {
  readonly status: HealthStatus;
  readonly score: number;
  readonly at: string;
  readonly nodes: readonly StatusRow[];
}

export interface HealthReport {
  readonly status: HealthStatus;
  readonly score: number;
  readonly checks: Readonly<Record<string, CheckResult | TreeCheck>>;
  /** Alert groups with something firing (alerts named by their rule and labels). */
  readonly firing: readonly { readonly rule: string; readonly groupKey: string; readonly firing: number; readonly silenced: number }[];
}

export interface RestartResult {
  readonly restarted: string;
}

export type WhatsAppRecoveryMode = 'reconnect' | 'repair' | 'pair';

export interface WhatsAppRecovery {
  readonly sessionId: string;
  readonly mode: WhatsAppRecoveryMode;
  readonly before: SessionStatus | null;
  readonly after: SessionStatus | null;
  /** Signal sessions cleared by a repair. */
  readonly cleared?: number;
  /** A pairing code, when `pair` was given a phone. */
  readonly pairingCode?: string;
  /** What the operator should know: a halt a reconnect cannot leave, a session left alone. */
  readonly note: string | null;
  /** Set when the recovery of this session failed (why). */
  readonly error: string | null;
}

export interface BatchRecovery {
  /** Conversations with pending messages but no batcher, started again. */
  readonly rearmed: number;
  /** In-flight batches whose lease ran out, taken over for this runtime's pipeline. */
  readonly reclaimed: number;
  readonly deadLetters: {
    /** Put back in flight with a fresh attempt count. */
    readonly retried: number;
    /** Of those, handed to the pipeline now (the rest wait behind an earlier batch or for the sweep). */
    readonly queued: number;
    /** Still dead letters: beyond this run's limit, or a retry that failed. */
    readonly left: number;
  };
  /** Set when the store could not be reached: what could be done was done. */
  readonly waitingForStore: string | null;
}

export interface CompanyRecovery {
  readonly company: string;
  /** Its sessions that were not open, reconnected; open and halted ones are reported, not touched. */
  readonly sessions: readonly WhatsAppRecovery[];
  readonly batches: BatchRecovery;
}

export interface FullRecovery {
  /** Nodes that were failed or backing off, restarted now (their backoff reset). */
  readonly restarted: readonly string[];
  /** Of those, the ones whose restart failed, and why. */
  readonly failedRestarts: readonly { readonly path: string; readonly error: string }[];
  /** Sessions that were not open, reconnected (halted ones are reported, not touched). */
  readonly sessions: readonly WhatsAppRecovery[];
  readonly batches: BatchRecovery;
}

export type RecoverRequest =
  | { readonly type: 'whatsapp'; readonly sessionId: string; readonly mode?: WhatsAppRecoveryMode; readonly phone?: string }
  | { readonly type: 'batches' }
  | { readonly type: 'company'; readonly company: string }
  | { readonly type: 'all' };

export type RecoverResult =
  | { readonly type: 'whatsapp'; readonly result: WhatsAppRecovery }
  | { readonly type: 'batches'; readonly result: BatchRecovery }
  | { readonly type: 'company'; readonly result: CompanyRecovery }
  | { readonly type: 'all'; readonly result: FullRecovery };

/** Why a recovery did not do all it set out to (a session that could not be reconnected, the store away), or null. */
export function recoveryProblem(result: RecoverResult): string | null {
  const sessions = (list: readonly WhatsAppRecovery[]): string[] => list.filter((line) => line.error !== null).map((line) => `${line.sessionId}: ${line.error}`);
  const batches = (batch: BatchRecovery): string[] => (batch.waitingForStore === null ? [] : [`the store: ${batch.waitingForStore}`]);
  let problems: string[];
  switch (result.type) {
    case 'whatsapp':
      problems = sessions([result.result]);
      break;
    case 'batches':
      problems = batches(result.result);
      break;
    case 'company':
      problems = [...sessions(result.result.sessions), ...batches(result.result.batches)];
      break;
    case 'all':
      problems = [...result.result.failedRestarts.map((line) => `restart ${line.path}: ${line.error}`), ...sessions(result.result.sessions), ...batches(result.result.batches)];
      break;
  }
  return problems.length === 0 ? null : problems.join('; ');
}

export interface QueueReport {
  /** Null while the pipeline does not answer (restarting). */
  readonly pipeline: PipelineStatus | null;
  readonly store: StoreCounts | null;
  readonly deadLetters: {
    readonly total: number;
    /** The oldest few, with the error that parked them. */
    readonly oldest: readonly { readonly batchId: string; readonly sessionId: string; readonly phone: string; readonly messages: number; readonly error: string; readonly deadAt: string }[];
  };
}

export interface LogsReport {
  readonly level: LogLevelFloor;
  readonly lines: readonly LogEntry[];
  /** Pass as `after` to read only what comes next (`logs -f`). */
  readonly next: number;
  /** LOG_BUFFER_LINES: how many lines each ring keeps. */
  readonly capacity: number;
  /** Lines after `after` the ring no longer held (a follower that fell behind), or beyond `limit`. */
  readonly skipped: number;
}

export interface TestResult {
  readonly pipeline: { readonly batchId: string } & DryRunResult;
  /** The real message through a session's send queue (OPS_TEST_PHONE); why not, when it was not sent. */
  readonly send:
    | { readonly sent: true; readonly sessionId: string; readonly to: string; readonly id: string; readonly queueDepth: number }
    | { readonly sent: false; readonly reason: string };
}

/** Dead letters one `recover batches` retries; more are left for the next run (the report says how many). */
const DEAD_LETTER_RETRY_LIMIT = 1_000;
const QUEUE_OLDEST = 20;
/** How long a repair waits for a restarted socket to be up before asking it. */
const SOCKET_UP_WAIT_MS = 10_000;

/**
 * The operations an operator has, written once over the tree, the stores and the sessions;
 * the admin HTTP API, the CLI (through that API) and the ops bot only parse, call and print.
 * Reads return reports; every operation that changes something is audited once (audit.ts)
 * with who asked and through which front end, whatever its outcome. A refusal is a
 * RuntimeError with a code (src/errors.ts), which each front end turns into its own answer.
 */
export class Operations {
  readonly #deps: OperationsDeps;

  constructor(deps: OperationsDeps) {
    this.#deps = deps;
  }

  /** The tree as `pm2 ls` would show it, with the health score. */
  status(): StatusReport {
    const tree = this.#deps.tree.snapshot();
    const health = assessHealth(tree, this.#deps.checks.all());
    return { status: health.status, score: health.score, at: this.#iso(), nodes: statusRows(tree, (path) => this.#deps.tree.isDynamic(path)) };
  }

  health(): HealthReport {
    const checks = this.#deps.checks.all();
    const health = assessHealth(this.#deps.tree.snapshot(), checks);
    const groups = this.#deps.alerts?.view().groups ?? [];
    return {
      status: health.status,
      score: health.score,
      checks: { tree: health.tree, ...checks },
      firing: groups
        .filter((group) => group.firing > 0)
        .map((group) => ({ rule: group.rule, groupKey: group.groupKey, firing: group.firing, silenced: group.alerts.filter((alert) => alert.silenced).length })),
    };
  }

  /** Whether `path` names a node of the tree now (the bot and the HTTP API check arguments against it). */
  hasPath(path: string): boolean {
    for (const node of walkTree(this.#deps.tree.snapshot())) if (node.path === path) return true;
    return false;
  }

  /** Restarts an actor or a subtree now, its backoff reset. */
  async restart(path: string, by: Initiator): Promise<RestartResult> {
    return this.#audited(by, 'restart', path, async () => {
      if (path === '/') throw new RuntimeError('WAR_ERR_ROOT_RESTART', 'the root cannot be restarted; stop the process (SIGTERM) instead');
      if (!this.hasPath(path)) throw new RuntimeError('WAR_ERR_CHILD_NOT_FOUND', `no actor at ${path}`);
      await this.#deps.tree.restart(path);
      return { restarted: path };
    });
  }

  async recover(request: RecoverRequest, by: Initiator): Promise<RecoverResult> {
    switch (request.type) {
      case 'whatsapp': {
        const mode = request.mode ?? 'reconnect';
        return this.#auditedRecovery(by, 'recover_whatsapp', `${request.sessionId} (${mode})`, async () => ({ type: 'whatsapp', result: await this.#recoverSession(request.sessionId, mode, request.phone) }), (result) => {
          const session = result.result as WhatsAppRecovery;
          return `${session.before ?? '?'} -> ${session.after ?? '?'}`;
        });
      }
      case 'batches':
        return this.#auditedRecovery(by, 'recover_batches', 'all', async () => ({ type: 'batches', result: await this.#recoverBatches(undefined) }), (result) => summariseBatches(result.result as BatchRecovery));
      case 'company':
        return this.#auditedRecovery(by, 'recover_company', request.company, async () => ({ type: 'company', result: await this.#recoverCompany(request.company) }), (result) => {
          const company = result.result as CompanyRecovery;
          return `${company.sessions.length} sessions; ${summariseBatches(company.batches)}`;
        });
      case 'all':
        return this.#auditedRecovery(by, 'recover_all', 'all', async () => ({ type: 'all', result: await this.#recoverAll() }), (result) => {
          const all = result.result as FullRecovery;
          return `${all.restarted.length} restarted, ${all.sessions.length} sessions, ${summariseBatches(all.batches)}`;
        });
    }
  }

  async queue(): Promise<QueueReport> {
    const batching = this.#requireBatching();
    const [pipeline, store, total, letters] = await Promise.all([
      batching.pipelineStatus(),
      batching.store.counts().catch(() => null),
      batching.deadLetters.count().catch(() => 0),
      batching.deadLetters.list(QUEUE_OLDEST).catch(() => []),
    ]);
    return {
      pipeline: pipeline ?? null,
      store,
      deadLetters: {
        total,
        oldest: letters.map(({ batch, error, at }) => ({
          batchId: batch.batchId,
          sessionId: batch.sessionId,
          phone: batch.phone,
          messages: batch.messages.length,
          error,
          deadAt: new Date(at).toISOString(),
        })),
      },
    };
  }

  /** The recent lines at warn and above, or info and above; `after` a seq, to follow. */
  logs(query: { readonly level: LogLevelFloor; readonly limit: number; readonly after?: number }): LogsReport {
    const rings = this.#deps.logs;
    if (!rings) return { level: query.level, lines: [], next: -1, capacity: 0, skipped: 0 };
    const ring = query.level === 'info' ? rings.info : rings.warn;
    const lines = ring.read(query.after === undefined ? { limit: query.limit } : { after: query.after, limit: query.limit });
    const wanted = ring.nextSeq - (query.after === undefined ? 0 : query.after + 1);
    const skipped = query.after === undefined ? 0 : Math.max(0, wanted - lines.length);
    return { level: query.level, lines: lines.map(parseLogLine), next: ring.nextSeq - 1, capacity: ring.capacity, skipped };
  }

  /**
   * A dry run through the pipeline (a synthetic batch marked `test`: the built-in handler does
   * not forward it and its actions are not carried out) and, with OPS_TEST_PHONE, a real
   * message through a session's send queue.
   */
  async test(by: Initiator, options: { readonly sessionId?: string } = {}): Promise<TestResult> {
    return this.#audited(
      by,
      'test',
      options.sessionId ?? 'pipeline',
      async () => {
        const batching = this.#requireBatching();
        const sessions = this.#deps.sessions;
        const sessionId = options.sessionId ?? sessions?.ids[0] ?? 'default';
        if (options.sessionId !== undefined && !sessions?.has(options.sessionId)) {
          throw new RuntimeError('WAR_ERR_WA_UNKNOWN_SESSION', `no session ${JSON.stringify(options.sessionId)} (WA_SESSIONS: ${sessions?.ids.join(', ') || 'none'})`);
        }
        const now = this.#iso();
        const batchId = `test-${randomUUID()}`;
        const batch: FlushedBatch = {
          batchId,
          sessionId,
          phone: '0',
          text: 'wa-runtime test',
          messages: [{ id: batchId, text: 'wa-runtime test', at: now }],
          reason: 'quiet',
          firstAt: now,
          lastAt: now,
          flushedAt: now,
          test: true,
        };
        const dryRun = await batching.dryRun(batch);
        const pipeline = { batchId, ...dryRun };
        const phone = this.#deps.config.ops.testPhone;
        if (!phone) return { pipeline, send: { sent: false, reason: 'OPS_TEST_PHONE is not set' } };
        if (!sessions || sessions.ids.length === 0) return { pipeline, send: { sent: false, reason: 'no WhatsApp session (WA_SESSIONS)' } };
        try {
          const accepted = await sessions.send(sessionId, { to: phone, text: `wa-runtime test from ${by.who} at ${now}`, source: 'ops test' });
          return { pipeline, send: { sent: true, sessionId, to: phone, id: accepted.id, queueDepth: accepted.queueDepth } };
        } catch (error) {
          return { pipeline, send: { sent: false, reason: describe(error) } };
        }
      },
      (result) => `pipeline ${result.pipeline.ok ? 'ok' : `failed: ${result.pipeline.error}`}; send ${result.send.sent ? `queued ${result.send.id}` : `skipped: ${result.send.reason}`}`,
      (result) => result.pipeline.ok,
    );
  }

  silence(request: { readonly matchers: readonly SilenceMatcher[]; readonly durationMs: number; readonly comment: string }, by: Initiator): Silence {
    const alerts = this.#deps.alerts;
    if (!alerts) throw new RuntimeError('WAR_ERR_OPERATION_UNAVAILABLE', 'this runtime has no alerts');
    const silence = alerts.silence({ ...request, createdBy: by.who });
    audit(this.#deps, by, 'alert_silence', silence.id, 'ok', `${request.matchers.map((m) => `${m.name}${m.isRegex ? '=~' : '='}${m.value}`).join(', ')} until ${silence.endsAt}`);
    return silence;
  }

  unsilence(id: string, by: Initiator): void {
    const alerts = this.#deps.alerts;
    if (!alerts) throw new RuntimeError('WAR_ERR_OPERATION_UNAVAILABLE', 'this runtime has no alerts');
    if (!alerts.unsilence(id)) throw new RuntimeError('WAR_ERR_SILENCE_NOT_FOUND', `no active silence ${id}`);
    audit(this.#deps, by, 'alert_unsilence', id, 'ok');
  }

  /** For front ends that change something the operations do not cover (dead letters, pending drops): the same audit. */
  audit(by: Initiator, operation: AdminOperation, target: string, outcome: 'ok' | 'failed', message: string | null = null): void {
    audit(this.#deps, by, operation, target, outcome, message);
  }

  async #recoverSession(sessionId: string, mode: WhatsAppRecoveryMode, phone: string | undefined): Promise<WhatsAppRecovery> {
    const sessions = this.#deps.sessions;
    if (!sessions?.has(sessionId)) {
      throw new RuntimeError('WAR_ERR_WA_UNKNOWN_SESSION', `no session ${JSON.stringify(sessionId)} (WA_SESSIONS: ${sessions?.ids.join(', ') || 'none'})`);
    }
    const before = await this.#sessionStatus(sessionId);
    const socketPath = sessionPaths(sessionId).socket;
    switch (mode) {
      case 'reconnect': {
        // A restart resets the socket's backoff and connects now; a halt is recorded in the auth
        // store, so the new socket stays halted: only pairing leaves it.
        await this.#deps.tree.restart(socketPath);
        const after = await this.#sessionStatus(sessionId);
        const halted = after !== null && (isHalted(after) || after === 'awaiting_pairing');
        return { sessionId, mode, before, after, note: halted ? `the session is ${after}: a reconnect cannot leave that; pair it again (recover whatsapp ${sessionId} --pair)` : null, error: null };
      }
      case 'repair': {
        if (!this.#socketUp(socketPath)) {
          await this.#deps.tree.restart(socketPath);
          await this.#waitUntilUp(socketPath);
        }
        const repaired = await sessions.repair(sessionId);
        return { sessionId, mode, before, after: repaired.status, cleared: repaired.cleared, note: null, error: null };
      }
      case 'pair': {
        if (!this.#socketUp(socketPath)) {
          await this.#deps.tree.restart(socketPath);
          await this.#waitUntilUp(socketPath);
        }
        const paired = await sessions.pair(sessionId, phone);
        return {
          sessionId,
          mode,
          before,
          after: paired.status,
          ...(paired.code ? { pairingCode: paired.code } : {}),
          note: paired.code ? null : 'scan the QR: GET /sessions/<id>/qr (admin token) or the terminal the runtime runs in',
          error: null,
        };
      }
    }
  }

  async #recoverBatches(sessions: readonly string[] | undefined): Promise<BatchRecovery> {
    const batching = this.#requireBatching();
    const sweep = await batching.sweep(sessions ? { type: 'sweep', sessions } : { type: 'sweep' });
    if (!sweep) throw new RuntimeError('WAR_ERR_ACTOR_STOPPED', 'the recovery actor did not answer (see /recovery in the tree)');
    let retried = 0;
    let queued = 0;
    let failed = 0;
    let total = 0;
    let waitingForStore = sweep.waitingForStore ?? null;
    try {
      total = await batching.deadLetters.count();
      const letters = await batching.deadLetters.list(DEAD_LETTER_RETRY_LIMIT);
      for (const { batch } of letters) {
        if (sessions && !sessions.includes(batch.sessionId)) continue;
        try {
          const outcome = await batching.deadLetters.retry(batch.batchId);
          if (!outcome) continue;
          retried++;
          if (outcome.queued) queued++;
        } catch (error) {
          failed++;
          this.#deps.logger.warn({ err: error, batchId: batch.batchId }, 'recover batches: a dead letter could not be retried');
        }
      }
    } catch (error) {
      waitingForStore ??= describe(error);
    }
    const left = sessions ? failed : Math.max(0, total - retried);
    return { rearmed: sweep.rearmed, reclaimed: sweep.reclaimed, deadLetters: { retried, queued, left }, waitingForStore };
  }

  async #recoverCompany(companyId: string): Promise<CompanyRecovery> {
    const company = this.#deps.config.ops.companies.find((entry) => entry.id === companyId);
    if (!company) {
      const known = this.#deps.config.ops.companies.map((entry) => entry.id);
      throw new RuntimeError('WAR_ERR_UNKNOWN_COMPANY', `no company ${JSON.stringify(companyId)} in COMPANIES (${known.join(', ') || 'none configured'})`);
    }
    return { company: company.id, sessions: await this.#reconnectNotOpen(company.sessions), batches: await this.#recoverBatches(company.sessions) };
  }

  async #recoverAll(): Promise<FullRecovery> {
    const tree = this.#deps.tree.snapshot();
    const sessionRoots = new Set((this.#deps.sessions?.ids ?? []).map((id) => sessionPaths(id).session));
    const restarted: string[] = [];
    // The topmost node that is down in each branch; sessions are the next step's, and a
    // dynamic supervisor's children (conversations) recover with the batches.
    const visit = (node: TreeNode): void => {
      if (sessionRoots.has(node.path)) return;
      if (node.path !== '/' && (node.status === 'failed' || node.status === 'backing_off')) {
        restarted.push(node.path);
        return;
      }
      if (this.#deps.tree.isDynamic(node.path)) return;
      for (const child of node.children) visit(child);
    };
    visit(tree);
    const failedRestarts: { path: string; error: string }[] = [];
    for (const path of restarted) {
      try {
        await this.#deps.tree.restart(path);
      } catch (error) {
        failedRestarts.push({ path, error: describe(error) });
      }
    }
    const sessions = await this.#reconnectNotOpen(this.#deps.sessions?.ids ?? []);
    const batches = this.#deps.batching ? await this.#recoverBatches(undefined) : emptyBatchRecovery('no batching in this runtime');
    return { restarted, failedRestarts, sessions, batches };
  }

  /**
   * Reconnects the sessions that are not open. An open session is left alone (reconnecting it
   * would only drop a working connection: `recover whatsapp <id>` does that on purpose), and a
   * halted one too (only pairing leaves a halt); both are reported.
   */
  async #reconnectNotOpen(ids: readonly string[]): Promise<WhatsAppRecovery[]> {
    const sessions: WhatsAppRecovery[] = [];
    for (const sessionId of ids) {
      const status = await this.#sessionStatus(sessionId);
      if (status === 'open') {
        sessions.push({ sessionId, mode: 'reconnect', before: status, after: status, note: 'left alone: open', error: null });
      } else if (status !== null && isHalted(status)) {
        sessions.push({ sessionId, mode: 'reconnect', before: status, after: status, note: `left alone: ${status} needs pairing (recover whatsapp ${sessionId} --pair)`, error: null });
      } else {
        sessions.push(await this.#recoverSessionSafely(sessionId));
      }
    }
    return sessions;
  }

  /** One session of many: a refusal is its line in the report, not the end of the whole recovery. */
  async #recoverSessionSafely(sessionId: string): Promise<WhatsAppRecovery> {
    try {
      return await this.#recoverSession(sessionId, 'reconnect', undefined);
    } catch (error) {
      return { sessionId, mode: 'reconnect', before: null, after: null, note: null, error: describe(error) };
    }
  }

  async #sessionStatus(sessionId: string): Promise<SessionStatus | null> {
    try {
      return (await this.#deps.sessions?.info(sessionId))?.status ?? null;
    } catch {
      return null;
    }
  }

  #socketUp(path: string): boolean {
    for (const node of walkTree(this.#deps.tree.snapshot())) if (node.path === path) return node.status === 'running';
    return false;
  }

  async #waitUntilUp(path: string): Promise<void> {
    const deadline = Date.now() + SOCKET_UP_WAIT_MS;
    while (!this.#socketUp(path)) {
      if (Date.now() > deadline) throw new RuntimeError('WAR_ERR_ACTOR_START_TIMEOUT', `${path} did not start within ${SOCKET_UP_WAIT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  #requireBatching(): NonNullable<OperationsDeps['batching']> {
    const batching = this.#deps.batching;
    if (!batching) throw new RuntimeError('WAR_ERR_OPERATION_UNAVAILABLE', 'this runtime has no batching');
    return batching;
  }

  /** A recovery, audited `failed` when part of it could not be done (the report still says what was). */
  #auditedRecovery(by: Initiator, operation: AdminOperation, target: string, run: () => Promise<RecoverResult>, summary: (result: RecoverResult) => string): Promise<RecoverResult> {
    return this.#audited(
      by,
      operation,
      target,
      run,
      (result) => {
        const problem = recoveryProblem(result);
        const text = summary(result);
        return problem === null ? text : `${text}; failed: ${problem}`;
      },
      (result) => recoveryProblem(result) === null,
    );
  }

  /** Runs a changing operation and audits it once, whatever its outcome. */
  async #audited<T>(by: Initiator, operation: AdminOperation, target: string, run: () => Promise<T>, summary?: (result: T) => string, succeeded?: (result: T) => boolean): Promise<T> {
    let result: T;
    try {
      result = await run();
    } catch (error) {
      audit(this.#deps, by, operation, target, 'failed', describe(error));
      throw error;
    }
    audit(this.#deps, by, operation, target, succeeded === undefined || succeeded(result) ? 'ok' : 'failed', summary ? summary(result) : null);
    return result;
  }

  #iso(): string {
    return new Date(this.#deps.clock.now()).toISOString();
  }
}

function summariseBatches(result: BatchRecovery): string {
  const base = `${result.rearmed} re-armed, ${result.reclaimed} re-delivered, ${result.deadLetters.retried} dead letters retried (${result.deadLetters.left} left)`;
  return result.waitingForStore ? `${base}; store: ${result.waitingForStore}` : base;
}

function emptyBatchRecovery(why: string): BatchRecovery {
  return { rearmed: 0, reclaimed: 0, deadLetters: { retried: 0, queued: 0, left: 0 }, waitingForStore: why };
}
