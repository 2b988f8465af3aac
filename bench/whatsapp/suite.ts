/**
 * The WhatsApp suite: what sessions cost in resident memory, by how many share a thread; how
 * long a dead node's sessions take to move; what the durable send queue costs.
 * BENCH_WA (comma-separated: memory, failover, outbound) picks sections; BENCH_WA_SESSIONS
 * (default 1,10,30,100) the session counts; BENCH_WA_KILLS (default 20) the failover kills.
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { sessionMemory, type SessionMemory } from './session-memory.js';
import { summarize } from '../support/stats.js';
import { benchRedisUrl, redisProblem } from '../batching/redis-env.js';
import { failover } from './failover.js';
import { outboundThroughput } from './outbound-throughput.js';

/** Measured on main before sessions shared threads (one thread per session), against the dropping server. */
const BEFORE_MB: Record<number, number> = { 0: 107, 10: 629, 30: 1_845 };

function counts(): number[] {
  const raw = process.env['BENCH_WA_SESSIONS'];
  return raw ? raw.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : [1, 10, 30, 100];
}

function mb(value: number, extra: Record<string, number | string | boolean> = {}): Figure {
  return { kind: 'value', value, unit: 'MB', text: `${value.toFixed(0)} MB`, extra };
}

async function memoryRows(rows: Row[], notes: string[]): Promise<void> {
  const sessions = counts();
  const taken = new Map<string, SessionMemory>();
  for (const mode of ['drop', 'silent'] as const) {
    for (const perThread of mode === 'drop' ? [16, 1] : [16]) {
      for (const n of mode === 'drop' ? sessions : [1, Math.max(...sessions)]) {
        let memory: SessionMemory | undefined;
        const figure = await measure(`${n} sessions, ${perThread} per thread, ${mode} server`, async () => {
          memory = await sessionMemory({ sessions: n, perThread, mode });
          taken.set(`${mode}/${perThread}/${n}`, memory);
          return mb(memory.rssMb, { threads: memory.threads, connections: memory.connections, startMs: Math.round(memory.startMs) });
        });
        const before = mode === 'drop' ? BEFORE_MB[n] : undefined;
        rows.push(
          makeRow(
            `RSS, ${n} idle session${n === 1 ? '' : 's'}, WA_SESSIONS_PER_THREAD=${perThread}, ${mode === 'drop' ? 'dropping' : 'open, silent'} server`,
            figure,
            before !== undefined && perThread === 16 ? [{ name: 'main before (a thread each)', figure: mb(before) }] : [],
            null,
          ),
        );
      }
    }
  }
  for (const [mode, perThread] of [['drop', 16], ['drop', 1], ['silent', 16]] as const) {
    const most = Math.max(...sessions);
    const first = taken.get(`${mode}/${perThread}/1`);
    const all = taken.get(`${mode}/${perThread}/${most}`);
    if (!first || !all || most === 1) continue;
    const perSession = (all.rssMb - first.rssMb) / (most - 1);
    const figure: Figure = { kind: 'value', value: perSession, unit: 'MB/session', text: `${perSession.toFixed(1)} MB/session` };
    rows.push(
      makeRow(
        `resident memory per session beyond the first, at ${most} sessions, ${perThread} per thread, ${mode === 'drop' ? 'dropping' : 'open, silent'} server`,
        figure,
        mode === 'drop' && perThread === 16 ? [{ name: 'main before (a thread each, 10 → 30 sessions)', figure: { kind: 'value', value: (1_845 - 629) / 20, unit: 'MB/session', text: `${((1_845 - 629) / 20).toFixed(1)} MB/session` } }] : [],
        perThread === 16 ? { stat: 'value', op: '<=', value: 8, unit: 'MB/session' } : null,
      ),
    );
  }
  notes.push(
    'the compiled runtime (dist/src/main.js, as npm start runs it) in a child process, its VmRSS from /proc: the median of 5 samples 5 s after every session connected twice (dropping server: each connection closed at once, so sessions reconnect at their backoff) or once (silent server: the WebSocket is held open and never answered, WA_CONNECT_TIMEOUT_MS 600000)',
    'the runtime with no session at all is the baseline of the "main before" figures (107 MB then); each session thread caps its young generation at 2 MB (actors/whatsapp/whatsapp-tree.ts)',
  );
}

const FAILOVER_LEASE_MS = 3_000;

async function failoverRows(rows: Row[], notes: string[], redisUrl: string, problem: string | undefined): Promise<void> {
  const kills = Number(process.env['BENCH_WA_KILLS'] ?? 20);
  const figure: Figure = problem
    ? { kind: 'skipped', reason: problem }
    : await measure(`failover after kill -9 of the owner, ${kills} kills, 6 sessions, WA_LEASE_MS ${FAILOVER_LEASE_MS}`, async () => {
        const { samples } = await failover({ kills, leaseMs: FAILOVER_LEASE_MS, sessions: 6, redisUrl });
        return { kind: 'latency', unit: 'ms', summary: summarize(samples), showMax: true };
      });
  rows.push(makeRow(`failover: kill -9 of the owner → its sessions open on the survivor (lease ${FAILOVER_LEASE_MS} ms, ${kills} kills)`, figure, [], { stat: 'p99', op: '<=', value: FAILOVER_LEASE_MS + 5_000, unit: 'ms' }));
  notes.push(
    `failover: two compiled runtimes on one Redis share 6 sessions (WA_SOCKET_MODULE: the test socket holding a real WebSocket each to a local server); the node holding sessions is killed with SIGKILL; the time runs until the survivor's /sessions shows every one of them open, polled every 20 ms; a fresh node replaces the dead one before the next kill. The bound is the lease (the dead node's last renewal is up to a third of it old) plus a sweep (a third) plus the start; WA_LEASE_MS ${FAILOVER_LEASE_MS} here to keep 20 kills short, 15000 by default`,
  );
}

async function outboundRows(rows: Row[], notes: string[], redisUrl: string, problem: string | undefined): Promise<void> {
  const messages = 2_000;
  const runs = 3;
  const figures = new Map<string, Figure>();
  for (const store of ['memory', 'sqlite', 'redis'] as const) {
    figures.set(
      store,
      store === 'redis' && problem
        ? { kind: 'skipped', reason: problem }
        : await measure(`outbound, ${messages} messages, send queue in ${store}, ${runs} runs`, async () => {
            const rates: number[] = [];
            for (let i = 0; i < runs; i++) rates.push(await outboundThroughput({ store, messages, redisUrl }));
            const sorted = [...rates].sort((a, b) => a - b);
            return { kind: 'throughput', msgsPerSec: sorted[Math.floor(sorted.length / 2)] as number, pick: 'median', runs: rates, messagesPerRun: messages };
          }),
    );
  }
  const memory = figures.get('memory') as Figure;
  rows.push(makeRow('outbound: accepted → acknowledged, send queue in SQLite (the default)', figures.get('sqlite') as Figure, [{ name: 'in memory (BATCH_STORE=memory)', figure: memory }], null));
  rows.push(makeRow('outbound: accepted → acknowledged, send queue in Redis', figures.get('redis') as Figure, [{ name: 'in memory (BATCH_STORE=memory)', figure: memory }], null));
  notes.push(
    `outbound: one session on a real session thread whose socket acknowledges each send at once; ${messages} sends accepted through the gateway as fast as it takes them, timed to the last acknowledgement; median of ${runs} runs. One send is in flight at a time (order per session), so every message costs a push before its acceptance and a removal after its acknowledgement, in series`,
  );
}

async function run(): Promise<SuiteResult> {
  const sections = (process.env['BENCH_WA'] ?? 'memory,failover,outbound').split(',');
  const rows: Row[] = [];
  const notes: string[] = [];
  const redisUrl = benchRedisUrl();
  const problem = sections.some((section) => section !== 'memory') ? await redisProblem(redisUrl) : undefined;
  if (sections.includes('memory')) await memoryRows(rows, notes);
  if (sections.includes('failover')) await failoverRows(rows, notes, redisUrl, problem);
  if (sections.includes('outbound')) await outboundRows(rows, notes, redisUrl, problem);
  return { rows, notes, info: {} };
}

export const whatsappSuite: Suite = { name: 'whatsapp', title: 'WhatsApp sessions: memory, failover, the send queue', run };
