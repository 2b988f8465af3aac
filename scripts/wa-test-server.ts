/**
 * A local stand-in for WhatsApp's WebSocket endpoint, to watch a session's reconnect policy
 * by hand: `npx tsx scripts/wa-test-server.ts drop 47124` (or `silent`), then
 * `WA_SESSIONS=s1 WA_WEBSOCKET_URL=ws://127.0.0.1:47124 npm start` and `curl localhost:3000/health/tree`.
 * The same server the tests use (test/support/wa-server.ts).
 */
import { WaServer, type WaServerMode } from '../test/support/wa-server.js';

const [mode = 'drop', port = '47124'] = process.argv.slice(2);
if (mode !== 'drop' && mode !== 'silent') {
  process.stderr.write(`mode must be drop or silent, got ${mode}\n`);
  process.exit(2);
}
const server = await WaServer.start(mode as WaServerMode, Number(port));
process.stdout.write(`listening on ${server.url} (${mode}); Ctrl-C to stop\n`);
let seen = 0;
setInterval(() => {
  for (const connection of server.connections.slice(seen)) process.stdout.write(`${new Date(connection.at).toISOString()} connection ${++seen} -> ${mode === 'drop' ? 'dropped' : 'left silent'}\n`);
}, 200);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void server.close().then(() => process.exit(0)));
