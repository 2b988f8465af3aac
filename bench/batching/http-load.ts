/**
 * The HTTP load generator, run as its own process (so it never shares the event loop of
 * the server it measures): autocannon POSTs /webhook/whatsapp/batched, one fresh message
 * per request (message n of the stream: streamMessage), a warm-up run then `runs` timed
 * runs of `amount` requests. Prints one JSON line: LoadReport.
 *
 *   node http-load.js '<LoadConfig as JSON>'
 */
import { createRequire } from 'node:module';
import { streamMessage } from './workload.js';

export interface LoadConfig {
  baseUrl: string;
  run: number;
  connections: number;
  warmup: number;
  amount: number;
  runs: number;
  /** Per autocannon request, seconds. */
  timeoutS: number;
}

export interface LoadRun {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  elapsedMs: number;
  reqPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export interface LoadReport {
  warmup: LoadRun;
  runs: LoadRun[];
}

// autocannon 9 ships no types: the part of its API used here.
interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  amount: number;
  timeout: number;
  requests: AutocannonRequest[];
}

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}

interface AutocannonInstance {
  on(event: 'response', listener: () => void): void;
}

type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/**
 * The run's time is taken to its last response. autocannon reports a run only at its next
 * 1 s sampling tick after the last response, so its own end time (and anything timed
 * around the call) is rounded up to whole seconds: 15,000 requests done in 1.3 s or in
 * 1.9 s both read as ~7,450 req/s.
 */
async function load(config: LoadConfig, amount: number, nextMessage: () => string): Promise<LoadRun> {
  const started = performance.now();
  let lastResponseAt = started;
  const options: AutocannonOptions = {
    url: config.baseUrl,
    connections: Math.min(config.connections, amount),
    pipelining: 1,
    amount,
    timeout: config.timeoutS,
    requests: [
      {
        method: 'POST',
        path: '/webhook/whatsapp/batched',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: nextMessage() }),
      },
    ],
  };
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', () => {
      lastResponseAt = performance.now();
    });
  });
  const elapsedMs = lastResponseAt - started;
  return {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    elapsedMs,
    reqPerSec: Math.round(result['2xx'] / (elapsedMs / 1e3)),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as LoadConfig;
  let n = 0;
  const nextMessage = (): string => {
    const message = streamMessage(config.run, n++);
    return JSON.stringify({ phone: message.phone, message: message.text, id: message.id });
  };
  const warmup = await load(config, config.warmup, nextMessage);
  const runs: LoadRun[] = [];
  for (let i = 0; i < config.runs; i++) runs.push(await load(config, config.amount, nextMessage));
  const report: LoadReport = { warmup, runs };
  // autocannon's agents may hold the loop a little longer: the report is all the parent needs.
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
}

await main();
