import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InlineRunner } from '../../actors/pipeline/handler-runner.js';
import { sessionThreadGroup, ThreadGroups } from '../../actors/whatsapp/whatsapp-tree.js';
import { Runtime } from '../../src/runtime.js';
import { sessionPaths } from '../../src/tree-paths.js';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEvent } from '../../supervisor/lifecycle-events.js';
import type { TreeNode } from '../../supervisor/tree-node.js';
import { testConfig } from '../support/config.js';
import { silentLogger } from '../support/logger.js';
import { nodeAt } from '../support/system.js';
import { waitFor } from '../support/wait.js';

const SESSIONS = Array.from({ length: 32 }, (_, i) => `s${String(i).padStart(2, '0')}`);

let runtime: Runtime | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  delete process.env['WA_TEST_CONTROL_DIR'];
});

async function start(sessions: readonly string[], env: Record<string, string>) {
  const control = mkdtempSync(join(tmpdir(), 'wa-control-'));
  const authDir = mkdtempSync(join(tmpdir(), 'wa-auth-'));
  dirs.push(control, authDir);
  process.env['WA_TEST_CONTROL_DIR'] = control;
  runtime = new Runtime({
    loaded: testConfig({ PORT: '0', METRICS_PROCESS: 'false', WA_SESSIONS: sessions.join(','), WA_AUTH_DIR: authDir, BACKOFF_INITIAL_MS: '100', BACKOFF_MAX_MS: '1000', ...env }),
    logger: silentLogger(),
    handlerRunner: () => new InlineRunner(() => undefined),
    whatsappPlacement: { kind: 'thread', factory: { module: new URL('../support/controlled-wa-socket.ts', import.meta.url).href, exportName: 'createControlledSocket' } },
    showQr: () => undefined,
  });
  const events: LifecycleEvent[] = [];
  runtime.system.events.subscribe((event) => events.push(event), { types: LIFECYCLE_EVENT_TYPES });
  await runtime.start();
  const system = runtime.system;
  /** Each session's socket: its thread, its status, its gateway's session status. */
  const placements = () => {
    const tree = system.snapshot();
    return sessions.map((id) => {
      const socket = nodeAt(tree, sessionPaths(id).socket) as TreeNode | undefined;
      const gateway = nodeAt(tree, sessionPaths(id).gateway) as TreeNode | undefined;
      return { id, threadId: socket?.detail?.['threadId'] as number | undefined, group: socket?.detail?.['group'] as string | undefined, socket: socket?.status, session: gateway?.detail?.['status'] };
    });
  };
  const allOpen = () => {
    const now = placements();
    return now.every((each) => each.session === 'open' && each.socket === 'running' && each.threadId !== undefined) ? now : undefined;
  };
  return { control, events, placements, allOpen };
}

describe('sessions sharing worker threads (WA_SESSIONS_PER_THREAD)', () => {
  it('places WA_SESSIONS in order, n to a thread, or one each', () => {
    expect([0, 15, 16, 31].map((i) => sessionThreadGroup(SESSIONS, i, 16))).toEqual(['whatsapp:thread-0', 'whatsapp:thread-0', 'whatsapp:thread-1', 'whatsapp:thread-1']);
    expect(sessionThreadGroup(SESSIONS, 5, 1)).toBe('whatsapp:s05');
  });

  it('a node that runs only some sessions fills its threads by what it runs, and reuses the room a stopped session leaves', () => {
    const groups = new ThreadGroups(16);
    const placed = SESSIONS.slice(0, 20).map((id) => groups.join(id));
    expect(placed.filter((group) => group === 'whatsapp:thread-0')).toHaveLength(16);
    expect(placed.slice(16)).toEqual(Array(4).fill('whatsapp:thread-1'));
    expect(groups.join('s03')).toBe('whatsapp:thread-0');
    groups.leave('s03');
    expect(groups.join('s31')).toBe('whatsapp:thread-0');
    expect(new ThreadGroups(1).join('s05')).toBe('whatsapp:s05');
  });

  it('32 sessions run on 2 threads; a socket crash restarts that session only; a thread that exits restarts its 16 sessions on a fresh thread and leaves the other 16 alone', async () => {
    const { control, events, allOpen } = await start(SESSIONS, { WA_SESSIONS_PER_THREAD: '16' });
    const before = await waitFor(allOpen, 60_000, 'all 32 sessions open');
    const threads = new Map<number, string[]>();
    for (const each of before) threads.set(each.threadId as number, [...(threads.get(each.threadId as number) ?? []), each.id]);
    expect([...threads.values()].map((ids) => ids.length)).toEqual([16, 16]);
    expect(new Set(before.slice(0, 16).map((each) => each.group))).toEqual(new Set(['whatsapp:thread-0']));
    expect(new Set(before.slice(16).map((each) => each.group))).toEqual(new Set(['whatsapp:thread-1']));

    // One socket's connection drops (428): only that session restarts, on the same thread.
    const crashMark = events.length;
    writeFileSync(join(control, 'close-s07'), '');
    await waitFor(() => events.slice(crashMark).some((event) => event.type === 'started' && event.path === sessionPaths('s07').socket), 30_000, 's07 restarted');
    const afterCrash = await waitFor(allOpen, 30_000, 'all open again after the crash');
    const touched = new Set(events.slice(crashMark).filter((event) => event.type === 'failed' || event.type === 'restarting').map((event) => event.path));
    expect([...touched]).toEqual([sessionPaths('s07').socket]);
    expect(afterCrash.find((each) => each.id === 's07')?.threadId).toBe(before.find((each) => each.id === 's07')?.threadId);

    // The second thread exits: its 16 sessions come back on one new thread, the first 16 are untouched.
    const victim = before[16]?.threadId as number;
    const exitMark = events.length;
    writeFileSync(join(control, `exit-${victim}`), '');
    const afterExit = await waitFor(
      () => {
        const now = allOpen();
        return now && now.slice(16).every((each) => each.threadId !== victim) ? now : undefined;
      },
      60_000,
      'the second group open on a new thread',
    );
    const failedAfterExit = new Set(events.slice(exitMark).filter((event) => event.type === 'failed').map((event) => event.path));
    expect([...failedAfterExit].sort()).toEqual(SESSIONS.slice(16).map((id) => sessionPaths(id).socket).sort());
    const fresh = new Set(afterExit.slice(16).map((each) => each.threadId));
    expect(fresh.size).toBe(1);
    expect(fresh.has(victim)).toBe(false);
    expect(afterExit.slice(0, 16).map((each) => each.threadId)).toEqual(before.slice(0, 16).map((each) => each.threadId));
    // The gateways (main thread) were never restarted: only sockets were.
    expect(events.some((event) => event.type === 'restarting' && event.path.endsWith('/gateway'))).toBe(false);
  }, 120_000);

  it('WA_SESSIONS_PER_THREAD=1 keeps one thread per session', async () => {
    const { allOpen } = await start(SESSIONS.slice(0, 3), { WA_SESSIONS_PER_THREAD: '1' });
    const open = await waitFor(allOpen, 30_000, 'three sessions open');
    expect(new Set(open.map((each) => each.threadId)).size).toBe(3);
  }, 60_000);
});
