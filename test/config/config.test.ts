import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('WAR_ERR_CONFIG_INVALID');
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has the documented defaults and is frozen', () => {
    const { config, effective } = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'info',
      adminToken: undefined,
      backoff: { initialMs: 3000, maxMs: 60000, maxAttempts: 10 },
    });
    expect(Object.isFrozen(config) && Object.isFrozen(config.backoff)).toBe(true);
    expect(effective.ADMIN_TOKEN).toBeNull();
  });

  it.each([
    ['PORT', 'abc', /PORT must be an integer between 0 and 65535, got "abc"/],
    ['PORT', '70000', /PORT must be between 0 and 65535, got 70000/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
    ['BACKOFF_INITIAL_MS', '-5', /BACKOFF_INITIAL_MS must be between 0 and/],
    ['BACKOFF_MAX_ATTEMPTS', '0', /BACKOFF_MAX_ATTEMPTS must be between 1 and/],
    ['MEMORY_HEAP_WARN_RATIO', '2', /MEMORY_HEAP_WARN_RATIO must be a number in \(0, 1\]/],
    ['METRICS_PROCESS', 'maybe', /METRICS_PROCESS must be true or false/],
    ['WA_SESSIONS', 's1,bad/id', /WA_SESSIONS must be a comma-separated list of ids .*; not one: "bad\/id"/],
    ['WA_SESSIONS', 's1,s2,s1', /WA_SESSIONS names "s1" more than once/],
    ['WA_SESSIONS', 's1,,s2', /WA_SESSIONS must be a comma-separated list .*not one: ""/],
    ['WA_WEBSOCKET_URL', 'http://127.0.0.1:1', /WA_WEBSOCKET_URL must use ws: or wss:, got http:/],
    ['WA_CONNECT_TIMEOUT_MS', '5', /WA_CONNECT_TIMEOUT_MS must be between 100 and/],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    expect(problemsOf({ [name]: value })).toMatch(message);
  });

  it('reads the WhatsApp sessions and their settings', () => {
    const { config, effective } = loadConfig({ WA_SESSIONS: ' salon-1, salon_2 ', WA_WEBSOCKET_URL: 'ws://127.0.0.1:9/ws?token=secret-token' });
    expect(config.whatsapp).toMatchObject({ sessions: ['salon-1', 'salon_2'], authDir: './data/wa-auth', connectTimeoutMs: 20_000, sendQueueMax: 1_000 });
    expect(effective.WA_SESSIONS).toBe('salon-1,salon_2');
    expect(JSON.stringify(effective)).not.toContain('secret-token');
    expect(loadConfig({}).config.whatsapp.sessions).toEqual([]);
  });

  it('reads how sessions share threads and nodes, and refuses sessions on Redis with a send queue elsewhere', () => {
    expect(loadConfig({}).config.whatsapp).toMatchObject({ sessionsPerThread: 16, leaseMs: 15_000, socketModule: undefined });
    expect(loadConfig({}).config.whatsapp.nodeId).toMatch(/:\d+$/);
    expect(loadConfig({ NODE_ID: 'node-a', WA_SESSIONS_PER_THREAD: '1', WA_LEASE_MS: '3000' }).config.whatsapp).toMatchObject({ nodeId: 'node-a', sessionsPerThread: 1, leaseMs: 3_000 });
    expect(problemsOf({ WA_SESSIONS_PER_THREAD: '0' })).toContain('WA_SESSIONS_PER_THREAD');
    expect(problemsOf({ WA_LEASE_MS: '10' })).toContain('WA_LEASE_MS');
    expect(problemsOf({ WA_SOCKET_MODULE: './no/such/module.ts' })).toContain('WA_SOCKET_MODULE "./no/such/module.ts" does not exist');
    expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379', WA_SESSIONS: 's1', BATCH_STORE: 'sqlite' })).toContain('BATCH_STORE is sqlite, but with REDIS_URL');
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', WA_SESSIONS: 's1' }).config.store.kind).toBe('redis');
  });

  it('reports every problem at once', () => {
    const message = problemsOf({ PORT: 'x', BACKOFF_MAX_ATTEMPTS: 'y' });
    expect(message).toContain('PORT');
    expect(message).toContain('BACKOFF_MAX_ATTEMPTS');
  });

  it('checks values against each other', () => {
    expect(problemsOf({ BACKOFF_INITIAL_MS: '5000', BACKOFF_MAX_MS: '1000' })).toContain(
      'BACKOFF_MAX_MS must be at least BACKOFF_INITIAL_MS (5000), got 1000',
    );
  });

  it('never quotes a secret in an error, and redacts it in the effective config', () => {
    const message = problemsOf({ ADMIN_TOKEN: 'short-secret' });
    expect(message).toContain('ADMIN_TOKEN must be at least 16 characters');
    expect(message).not.toContain('short-secret');
    const { config, effective } = loadConfig({ ADMIN_TOKEN: 'a-long-enough-admin-token' });
    expect(config.adminToken).toBe('a-long-enough-admin-token');
    expect(effective.ADMIN_TOKEN).toBe('[redacted]');
  });

  it('reads CONFIG_FILE as a lower layer under the environment, and rejects unknown names in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    const file = join(dir, 'runtime.json');
    writeFileSync(file, JSON.stringify({ PORT: 4100, BACKOFF_MAX_MS: 9000 }));
    const { config } = loadConfig({ CONFIG_FILE: file, BACKOFF_MAX_MS: '12000' });
    expect(config.port).toBe(4100);
    expect(config.backoff.maxMs).toBe(12000);
    writeFileSync(file, JSON.stringify({ PROT: 1 }));
    expect(problemsOf({ CONFIG_FILE: file })).toContain('CONFIG_FILE names an unknown variable PROT');
    expect(problemsOf({ CONFIG_FILE: join(dir, 'missing.json') })).toContain('could not be read (ENOENT)');
    // A malformed file: the error points at the spot without quoting it (it holds secrets).
    writeFileSync(file, '{"ADMIN_TOKEN": s3cr3t-admin-token-value}');
    const malformed = problemsOf({ CONFIG_FILE: file });
    expect(malformed).toMatch(/is not valid JSON/);
    expect(malformed).not.toContain('s3cr3t');
  });
});
