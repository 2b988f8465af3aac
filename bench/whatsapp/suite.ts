/**
 * The WhatsApp suite: what sessions cost in resident memory, by how many share a thread.
 * BENCH_WA (comma-separated: memory) picks sections; BENCH_WA_SESSIONS (default 1,10,30,100)
 * the session counts.
 */
import { makeRow, measure, type Figure, type Row, type Suite, type SuiteResult } from '../support/suite.js';
import { sessionMemory, type SessionMemory } from './session-memory.js';

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

async function run(): Promise<SuiteResult> {
  const sections = (process.env['BENCH_WA'] ?? 'memory').split(',');
  const rows: Row[] = [];
  const notes: string[] = [];
  if (sections.includes('memory')) await memoryRows(rows, notes);
  return { rows, notes, info: {} };
}

export const whatsappSuite: Suite = { name: 'whatsapp', title: 'WhatsApp sessions: memory', run };
