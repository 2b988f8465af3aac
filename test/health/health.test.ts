import { describe, expect, it } from 'vitest';
import { classifyMemory, memoryMonitor, type MemorySample } from '../../actors/monitors/memory/memory-monitor.js';
import type { ActorRef } from '../../src/actor/actor-ref.js';
import { HealthChecks, type CheckResult } from '../../src/health/health-checks.js';
import { assessHealth } from '../../src/health/health-score.js';
import { local } from '../../supervisor/child-spec.js';
import type { TreeNode } from '../../supervisor/tree-node.js';
import { nodeAt, startSystem } from '../support/system.js';

const MB = 1024 * 1024;
const thresholds = { rssWarnMb: 100, rssCriticalMb: 200, heapWarnRatio: 0.8 };
const sample = (rssMb: number, heapRatio = 0.1): MemorySample => ({ rssBytes: rssMb * MB, heapUsedBytes: heapRatio * 1000 * MB, heapLimitBytes: 1000 * MB });

function node(path: string, status: TreeNode['status'], children: TreeNode[] = []): TreeNode {
  return { path, kind: 'actor', status, restarts: 0, lastError: null, nextRestartAt: null, uptimeMs: 0, mailbox: { depth: 0, processed: 0, dropped: 0 }, placement: 'local', children };
}
const check = (status: CheckResult['status']): CheckResult => ({ status, message: status, at: new Date(0).toISOString(), since: new Date(0).toISOString() });

describe('memory monitor', () => {
  it('classifies RSS and heap against the thresholds', () => {
    const at = new Date(0);
    expect(classifyMemory(sample(50), thresholds, at).status).toBe('ok');
    expect(classifyMemory(sample(150), thresholds, at)).toMatchObject({ status: 'warn', message: expect.stringContaining('warning 100 MB') });
    expect(classifyMemory(sample(250), thresholds, at)).toMatchObject({ status: 'critical', message: expect.stringContaining('critical 200 MB') });
    expect(classifyMemory(sample(50, 0.9), thresholds, at)).toMatchObject({ status: 'warn', message: expect.stringContaining("V8's limit") });
  });

  it('checks on its timer, publishes the memory check and its tree detail, and withdraws the check when stopped', async () => {
    const checks = new HealthChecks();
    let rss = 50;
    const { system, clock } = await startSystem([
      { kind: 'actor', id: 'memory', behaviour: local(() => memoryMonitor({ ...thresholds, intervalMs: 1_000, checks, sample: () => sample(rss) })) },
    ]);
    await clock.advanceAsync(0);
    expect(checks.get('memory')?.status).toBe('ok');
    rss = 250;
    await clock.advanceAsync(1_000);
    expect(checks.get('memory')?.status).toBe('critical');
    expect(nodeAt(system.snapshot(), '/memory')?.detail).toMatchObject({ status: 'critical', rssMb: 250 });
    const status = await (system.lookup('/memory') as ActorRef<{ type: 'status' }, CheckResult>).ask({ type: 'status' });
    expect(status.status).toBe('critical');
    await system.shutdown();
    expect(checks.get('memory')).toBeUndefined();
  });
});

describe('health score', () => {
  it('is 100 and healthy with everything running and ok', () => {
    expect(assessHealth(node('/', 'running', [node('/a', 'running')]), { memory: check('ok') })).toMatchObject({ status: 'healthy', score: 100 });
  });

  it('loses points per backing-off or failed node and per warn or critical check', () => {
    const tree = node('/', 'running', [node('/a', 'backing_off'), node('/b', 'failed')]);
    expect(assessHealth(tree, {}).score).toBe(65);
    expect(assessHealth(node('/', 'running'), { m: check('warn') })).toMatchObject({ score: 85, status: 'healthy' });
    expect(assessHealth(node('/', 'running', [node('/a', 'backing_off')]), {})).toMatchObject({ score: 90, status: 'healthy' });
    expect(assessHealth(node('/', 'running', [node('/a', 'backing_off'), node('/b', 'backing_off')]), { m: check('warn') })).toMatchObject({ score: 65, status: 'degraded' });
  });

  it('is unhealthy (GET /health answers 503) with any critical check or failed node, whatever the score', () => {
    expect(assessHealth(node('/', 'running'), { m: check('critical') })).toMatchObject({ score: 60, status: 'unhealthy' });
    expect(assessHealth(node('/', 'running', [node('/b', 'failed')]), {})).toMatchObject({ score: 75, status: 'unhealthy' });
    expect(assessHealth(node('/', 'running', [node('/a', 'backing_off'), node('/b', 'failed')]), { m: check('critical') })).toMatchObject({ score: 25, status: 'unhealthy' });
  });

  it('is 0 and unhealthy when the root is not running', () => {
    expect(assessHealth(node('/', 'failed'), {})).toMatchObject({ status: 'unhealthy', score: 0 });
  });
});
