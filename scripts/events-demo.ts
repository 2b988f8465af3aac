/**
 * `npx tsx scripts/events-demo.ts`: a runtime in this process with one subscriber to its
 * event stream, printing the first event of each kind as it arrives, while the script makes
 * each kind happen: a WhatsApp session against a local server that drops every connection
 * (session, failed, restarting, started), a handler that always fails (dead_lettered) and
 * replies to a session that does not exist (action_failed), an admin restart (admin), a
 * check going critical, a child that crash-loops until it gives up (gave_up, escalated,
 * stopped). Exits 0 once every kind was printed, 1 if some did not come within 60 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InlineRunner } from '../actors/pipeline/handler-runner.js';
import { loadConfig } from '../src/config/config.js';
import { RUNTIME_EVENT_TYPES, type RuntimeEvent, type RuntimeEventType } from '../src/events/runtime-events.js';
import { createLogger } from '../src/logging/logger.js';
import { Runtime } from '../src/runtime.js';
import { local } from '../supervisor/child-spec.js';
import { WaServer } from '../test/support/wa-server.js';

const TOKEN = 'events-demo-token-0123456789';
const wa = await WaServer.start('drop', 0);
const authDir = mkdtempSync(join(tmpdir(), 'events-demo-'));
let attempt = 0;
const runtime = new Runtime({
  loaded: loadConfig({
    PORT: '0',
    ADMIN_TOKEN: TOKEN,
    WA_SESSIONS: 's1',
    WA_WEBSOCKET_URL: wa.url,
    WA_AUTH_DIR: authDir,
    BACKOFF_INITIAL_MS: '100',
    BACKOFF_MAX_MS: '200',
    BACKOFF_MAX_ATTEMPTS: '2',
    BATCH_WINDOW_MS: '50',
    BATCH_MAX_AGE_MS: '50',
    PIPELINE_MAX_ATTEMPTS: '2',
    PIPELINE_RETRY_INITIAL_MS: '20',
    METRICS_PROCESS: 'false',
  }),
  logger: createLogger({ level: 'silent' }),
  handlerRunner: () =>
    new InlineRunner((batch) => {
      if (batch.phone === '79160000001') throw new Error(`the downstream refused batch ${batch.batchId} (attempt ${++attempt})`);
      return [{ type: 'reply', text: `re: ${batch.text}` }];
    }),
});

const printed = new Set<RuntimeEventType>();
const done = new Promise<void>((resolve) => {
  runtime.events.subscribe(
    (event: RuntimeEvent) => {
      if (printed.has(event.type)) return;
      printed.add(event.type);
      process.stdout.write(`${JSON.stringify(event)}\n`);
      if (printed.size === RUNTIME_EVENT_TYPES.length) resolve();
    },
    { name: 'events-demo' },
  );
});

await runtime.start();
const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

// A batch whose handler keeps failing (dead_lettered), one whose reply has no session (action_failed).
await post('/webhook/whatsapp/batched', { phone: '79160000001', message: 'this one fails' });
await post('/webhook/whatsapp/batched', { phone: '79160000002', message: 'this one replies', sessionId: 'nowhere' });
// An operator restarts the memory monitor (admin).
await post('/admin/restart', { path: '/monitors/memory' }, { authorization: `Bearer ${TOKEN}` });
// A check going critical.
runtime.checks.report('demo', { status: 'critical', message: 'a demo check went critical', at: new Date().toISOString() });
// A temporary child that crash-loops: it gives up, its supervisor escalates, and the crash-looping ends it.
await runtime.system.supervisor('/').startChild({
  kind: 'supervisor',
  id: 'demo',
  strategy: 'one_for_one',
  restart: 'temporary',
  intensity: { maxRestarts: 10, withinMs: 60_000 },
  children: [
    {
      kind: 'actor',
      id: 'crasher',
      backoff: { initialMs: 10, maxMs: 10, maxAttempts: 2 },
      behaviour: local<{ type: 'crash' }, void>(() => ({
        receive() {
          throw new TypeError('a bug in the demo actor');
        },
      })),
    },
  ],
});
// Fails the current incarnation the way a bug would, until it is given up.
const crash = setInterval(() => void runtime.system.lookup<{ type: 'crash' }, void>('/demo/crasher')?.ask({ type: 'crash' }).catch(() => undefined), 50);

const timeout = setTimeout(() => {
  process.stderr.write(`not seen within 60 s: ${RUNTIME_EVENT_TYPES.filter((type) => !printed.has(type)).join(', ')}\n`);
  process.exit(1);
}, 60_000);
await done;
clearTimeout(timeout);
clearInterval(crash);
await runtime.shutdown();
await wa.close();
rmSync(authDir, { recursive: true, force: true });
process.exit(0);
