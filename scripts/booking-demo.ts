/**
 * `npx tsx scripts/booking-demo.ts`: the booking routes against the local YClients server of
 * test/support/yclients-server.ts, as an n8n flow would call them: a slot lookup, a booking,
 * the same booking again (same api_id), and a record with staff_id "last", refused before
 * anything reaches YClients. Prints each request and answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { InlineRunner } from '../actors/pipeline/handler-runner.js';
import { loadConfig } from '../src/config/config.js';
import { Runtime } from '../src/runtime.js';
import { YClientsServer } from '../test/support/yclients-server.js';

const ADMIN = 'demo-admin-token-0123456789';
const server = new YClientsServer();
await server.listen();
const dataDir = mkdtempSync(join(tmpdir(), 'booking-demo-'));
const runtime = new Runtime({
  loaded: loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    YCLIENTS_BASE_URL: server.url,
    YCLIENTS_PARTNER_TOKEN: server.partnerToken,
    YCLIENTS_USER_TOKEN: server.userToken,
    YCLIENTS_COMPANY_ID: '4564',
  }),
  logger: pino({ level: 'silent' }),
  handlerRunner: () => new InlineRunner(() => undefined),
});
try {
  await runtime.start();
  const base = `http://127.0.0.1:${(await runtime.httpAddress())?.port}`;
  const show = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const before = server.requests.length;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    process.stdout.write(`\n${method} ${path}${body === undefined ? '' : ` ${JSON.stringify(body)}`}\n→ ${response.status} ${text.length > 600 ? `${text.slice(0, 600)}…` : text}\n  (${server.requests.length - before} request(s) reached YClients)\n`);
    return JSON.parse(text) as unknown;
  };
  const slots = (await show('GET', '/booking/slots?staff_id=any&date=2026-12-03&service_ids=331')) as { data: { staff_id: number; datetime: string }[] };
  const first = slots.data[0]!;
  const record = { phone: '+7 (916) 123-45-67', fullname: 'Мария Иванова', api_id: 'n8n-flow-7781', appointments: [{ id: 0, services: [331], staff_id: first.staff_id, datetime: first.datetime }] };
  await show('POST', '/booking/records', record);
  await show('POST', '/booking/records', record);
  await show('POST', '/booking/records', { ...record, api_id: 'n8n-flow-7782', appointments: [{ ...record.appointments[0], staff_id: 'last' }] });
  process.stdout.write(`\nrecords on the YClients server: ${server.records.length} (api_ids: ${server.records.map((r) => r.api_id).join(', ')}); rate violations: ${server.violations.length}\n`);
} finally {
  await runtime.shutdown();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
