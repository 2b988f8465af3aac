import { describe, expect, it } from 'vitest';
import { classifyRestarts, RESTARTS_CHECK, restartStormCheck } from '../../actors/monitors/restarts/restarts-monitor.js';
import { RestartWindows } from '../../actors/monitors/restarts/restart-windows.js';

const WINDOW_MS = 300_000;
const SLOT_MS = WINDOW_MS / 30;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % SLOT_MS);

describe('RestartWindows', () => {
  it('counts restarts per path within the window, and forgets them a window later', () => {
    const windows = new RestartWindows({ windowMs: WINDOW_MS, maxPaths: 1_000 });
    for (let i = 0; i < 12; i++) expect(windows.record('/a', T0 + i * 1_000)).toBe(i + 1);
    windows.record('/b', T0);
    expect(windows.count('/a', T0 + 11_000)).toBe(12);
    expect(windows.count('/b', T0 + 11_000)).toBe(1);
    expect(windows.count('/c', T0)).toBe(0);
    // Still counted just before the window is over, gone once it is (to a slot's precision).
    expect(windows.count('/a', T0 + WINDOW_MS - 1)).toBe(12);
    // A window on: the first slot's ten (T0 to T0 + 9 s) have left, the two after them not yet.
    expect(windows.count('/a', T0 + WINDOW_MS)).toBe(2);
    expect(windows.count('/a', T0 + WINDOW_MS + 11_000)).toBe(0);
  });

  it('slides: old restarts leave as new ones come', () => {
    const windows = new RestartWindows({ windowMs: WINDOW_MS, maxPaths: 10 });
    // One restart every 30 s for an hour: the window always holds the last 5 min's worth.
    let last = 0;
    for (let at = T0; at < T0 + 3_600_000; at += 30_000) last = windows.record('/steady', at);
    expect(last).toBe(10);
  });

  it('sweep gives every count and drops the paths with none left in the window', () => {
    const windows = new RestartWindows({ windowMs: WINDOW_MS, maxPaths: 1_000 });
    windows.record('/old', T0);
    windows.record('/new', T0 + 200_000);
    windows.record('/new', T0 + 200_001);
    expect(windows.sweep(T0 + 200_001)).toEqual(new Map([['/old', 1], ['/new', 2]]));
    expect(windows.sweep(T0 + WINDOW_MS + 10_000)).toEqual(new Map([['/new', 2]]));
    expect(windows.size).toBe(1);
  });

  it('ignores a restart reported after its slot was reused by a later one (older than the window)', () => {
    const windows = new RestartWindows({ windowMs: WINDOW_MS, maxPaths: 10 });
    windows.record('/a', T0 + WINDOW_MS);
    windows.record('/a', T0);
    expect(windows.count('/a', T0 + WINDOW_MS)).toBe(1);
  });

  it('keeps at most maxPaths paths, forgetting the least recently restarted, so a storming actor stays', () => {
    const windows = new RestartWindows({ windowMs: WINDOW_MS, maxPaths: 1_000 });
    let at = T0;
    // 10,000 batchers restart once each, while one actor storms among them.
    for (let i = 0; i < 10_000; i++) {
      windows.record(`/batchers/c${i}`, at);
      if (i % 500 === 0) windows.record('/storm', at);
      at += 10;
    }
    expect(windows.size).toBe(1_000);
    expect(windows.forgotten).toBe(9_001);
    expect(windows.count('/storm', at)).toBe(20);
    expect(windows.count('/batchers/c0', at)).toBe(0);
    expect(windows.count('/batchers/c9999', at)).toBe(1);
  });
});

describe('classifyRestarts', () => {
  const thresholds = { count: 10, windowMs: WINDOW_MS };
  const at = new Date(T0);

  it('one critical check per actor at or above the count, with its path and count; none for the others', () => {
    const reports = classifyRestarts(new Map([['/api', 283], ['/batchers/x', 9], ['/store', 10]]), thresholds, at);
    expect([...reports.keys()]).toEqual([restartStormCheck('/api'), restartStormCheck('/store'), RESTARTS_CHECK]);
    expect(reports.get('restarts:/api')).toEqual({
      status: 'critical',
      message: '/api restarted 283 times in the last 5 min',
      at: at.toISOString(),
      data: { actor: '/api', count: 283, windowMs: WINDOW_MS },
    });
    expect(reports.get(RESTARTS_CHECK)).toMatchObject({
      status: 'critical',
      message: '2 actors are in a restart storm (10 or more restarts in 5 min): /api (283), /store (10)',
      data: { storming: 2 },
    });
  });

  it('a summary that is ok without a storm, and names at most five storming actors', () => {
    expect(classifyRestarts(new Map([['/a', 3]]), thresholds, at).get(RESTARTS_CHECK)).toMatchObject({
      status: 'ok',
      message: 'no restart storm (10 restarts of one actor within 5 min make one)',
    });
    const many = new Map(Array.from({ length: 8 }, (_, i) => [`/s${i}`, 20 + i] as const));
    const summary = classifyRestarts(many, thresholds, at).get(RESTARTS_CHECK);
    expect(summary?.message).toBe('8 actors are in a restart storm (10 or more restarts in 5 min): /s7 (27), /s6 (26), /s5 (25), /s4 (24), /s3 (23) and 3 more');
  });
});
