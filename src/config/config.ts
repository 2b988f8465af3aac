import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_BACKOFF } from '../../supervisor/restart-rule.js';
import { RuntimeError } from '../errors.js';
import {
  booleanFlag,
  canaryTargets,
  optionalInteger,
  idList,
  integer,
  logLevel,
  oneOf,
  optionalString,
  pattern,
  ratio,
  secret,
  string,
  url,
  companies,
  type CanaryTarget,
  type Company,
  type Parsed,
  type Parser,
} from './parsers.js';

export type { CanaryTarget, Company } from './parsers.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * The runtime's configuration: built once from the environment (and CONFIG_FILE),
 * validated, frozen, and passed to every actor at spawn. Nothing reads process.env later.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Limits at the HTTP edge: what a slow or greedy client may hold of the server. */
  readonly http: {
    /** A request (headers and body) not fully received in this time is answered 408 and cut. */
    readonly bodyTimeoutMs: number;
    /** The headers alone must arrive within this: at most `bodyTimeoutMs`, as Node requires (unset, it follows a shorter one). */
    readonly headersTimeoutMs: number;
    /** An idle keep-alive connection is closed after this. */
    readonly keepAliveTimeoutMs: number;
    /** Open connections beyond this are refused (closed at once); 0: no cap. */
    readonly maxConnections: number;
  };
  readonly logLevel: LogLevel;
  /** Admin routes answer 403 while this is unset. */
  readonly adminToken: string | undefined;
  readonly backoff: {
    readonly initialMs: number;
    readonly maxMs: number;
    readonly maxAttempts: number;
  };
  readonly shutdownTimeoutMs: number;
  /** Restart intensities: strict at the root, generous at the leaves (intensities multiply down the tree). */
  readonly supervision: {
    readonly root: { readonly maxRestarts: number; readonly withinMs: number };
    /** `/batchers` and each `/whatsapp/<id>`: one conversation's or one number's trouble never takes the others down. */
    readonly leaf: { readonly maxRestarts: number; readonly withinMs: number };
  };
  /** Where the runtime keeps files: the embedded store, the memory store's shutdown spill. */
  readonly dataDir: string;
  readonly store: {
    /** sqlite (the default without REDIS_URL), redis (the default with it), memory (keeps nothing across a crash). */
    readonly kind: 'sqlite' | 'redis' | 'memory';
    /** SQLite's `synchronous`: normal survives a process crash, full also a power loss (an fsync per commit). */
    readonly sqliteSynchronous: 'normal' | 'full';
    /** How often `/store` pings the store; while it is down, also the longest wait between reconnects. */
    readonly pingIntervalMs: number;
    /** How long a batcher, the pipeline or a session waits before asking an unavailable store again. */
    readonly retryMs: number;
  };
  readonly memory: {
    readonly intervalMs: number;
    readonly rssWarnMb: number;
    readonly rssCriticalMb: number;
    /** Share of V8's heap limit in use that turns the check to warn. */
    readonly heapWarnRatio: number;
  };
  /** Node process metrics (heap, GC, event loop lag) on /metrics. */
  readonly metricsProcess: boolean;
  /** The batch store's Redis when BATCH_STORE is redis (the default when set), and the WhatsApp auth store's. */
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly batching: {
    readonly windowMs: number;
    readonly maxMessages: number;
    readonly maxAgeMs: number;
    readonly ttlSeconds: number;
    /** How long a runtime holds an in-flight batch before another may deliver it. */
    readonly leaseMs: number;
    /** How often pending conversations without a batcher and expired leases are looked for. */
    readonly sweepIntervalMs: number;
  };
  readonly pipeline: {
    readonly webhookUrl: string | undefined;
    /** A module whose default (or `handle`) export handles a batch; unset: the built-in forwarder. */
    readonly handlerModule: string | undefined;
    readonly concurrency: number;
    readonly handlerTimeoutMs: number;
    readonly maxAttempts: number;
    readonly retryInitialMs: number;
    readonly retryMaxMs: number;
    readonly queueMax: number;
  };
  readonly whatsapp: {
    /** One supervised socket per id; empty: no WhatsApp. */
    readonly sessions: readonly string[];
    /** Auth state on disk (one directory per session) when Redis is not configured. */
    readonly authDir: string;
    /** Baileys' `waWebSocketUrl`: tests point it at a local server. */
    readonly webSocketUrl: string | undefined;
    readonly connectTimeoutMs: number;
    readonly keepAliveIntervalMs: number;
    readonly qrTimeoutMs: number;
    readonly sendQueueMax: number;
    readonly sendAttempts: number;
    /** First delay before a failed send is tried again; doubles per attempt. */
    readonly sendRetryMs: number;
    /** How long one send may take before it is retried (longer than Baileys' own 60 s query timeout). */
    readonly sendTimeoutMs: number;
    /** Inbound texts a session holds while the store cannot take them. */
    readonly inboundBufferMax: number;
    /** How long a stopping socket may take to close its WebSocket and auth store. */
    readonly socketShutdownMs: number;
    /** Sessions placed on one worker thread: memory shared against the blast radius of a thread crash. */
    readonly sessionsPerThread: number;
    /** A module whose `createSocket` export replaces Baileys in the session threads (simulators, tests); a file URL. */
    readonly socketModule: string | undefined;
    /** This runtime's name among the nodes sharing the sessions on one Redis (NODE_ID, default host:pid). */
    readonly nodeId: string;
    /** How long a node's ownership of a session lives unrenewed (WA_LEASE_MS). */
    readonly leaseMs: number;
  };
  /** The monitors under /monitors (actors/monitors): what each checks and when it warns. */
  readonly monitors: {
    /** How often the polling monitors (queue, redis, event loop, activity, WhatsApp counters) check. */
    readonly intervalMs: number;
    /** A session not open for this long is critical (it warns while it reconnects). */
    readonly waDownAlertMs: number;
    /** Decrypt errors per minute, per session, that turn its check to warn. */
    readonly decryptErrorsWarnPerMinute: number;
    readonly queue: { readonly warnDepth: number; readonly criticalDepth: number; readonly maxAgeMs: number };
    /** Restarts of one actor within `windowMs` that make a restart storm. */
    readonly restarts: { readonly count: number; readonly windowMs: number };
    /** Event-loop delay p99 thresholds. */
    readonly eventLoop: { readonly warnMs: number; readonly criticalMs: number };
    /** Time without a message received or sent, per session, that warns; 0: off. */
    readonly activityIdleMs: number;
    readonly redis: { readonly pingWarnMs: number; readonly memoryWarnRatio: number; readonly memoryCriticalRatio: number };
  };
  /** Other services' health URLs, checked with the thresholds Gatus uses. */
  readonly canary: {
    readonly targets: readonly CanaryTarget[];
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly failureThreshold: number;
    readonly successThreshold: number;
  };
  /** Results and transitions each check keeps (GET /health/history). */
  readonly checkHistorySize: number;
  /** Grouping as Alertmanager does it, and where notifications go (actors/alerts). */
  readonly alerts: {
    readonly groupWaitMs: number;
    readonly groupIntervalMs: number;
    readonly repeatIntervalMs: number;
    /** Notifications a channel keeps while it cannot send; the oldest go first. */
    readonly channelQueueMax: number;
    readonly telegram: { readonly botToken: string; readonly chatIds: readonly string[]; readonly apiRoot: string } | undefined;
    readonly n8n: { readonly webhookUrl: string } | undefined;
  };
  /** The YClients booking client (actors/booking); absent without YCLIENTS_PARTNER_TOKEN. */
  readonly booking:
    | {
        readonly baseUrl: string;
        readonly partnerToken: string;
        /** Absent: the partner token alone (the online-booking calls). */
        readonly userToken: string | undefined;
        /** The company an operation without its own company id is for. */
        readonly companyId: number | undefined;
        readonly timeoutMs: number;
        readonly ratePerSecond: number;
        readonly ratePerMinute: number;
        /** Requests that may wait for the rate limit, and for how long at most. */
        readonly queueMax: number;
        readonly queueTimeoutMs: number;
        readonly breakerFailures: number;
        readonly breakerCooldownMs: number;
        /** Services and staff per company; free times are cached at most 30 s. */
        readonly cacheTtlMs: number;
      }
    | undefined;
  /** GET /dashboard and its event stream (src/http/dashboard). */
  readonly dashboard: {
    /** Unset: the read-only views are open; set, they need it (or ADMIN_TOKEN) as a bearer token. */
    readonly token: string | undefined;
    readonly maxClients: number;
    /** Bytes a client may leave unread before it is dropped. */
    readonly clientBufferBytes: number;
  };
  /** The operations (src/operations): companies for `recover company`, the log ring, the ops bot. */
  readonly ops: {
    /** COMPANIES: a company's id and its WhatsApp session ids, in the order given. */
    readonly companies: readonly Company[];
    /** Log lines kept in memory for `logs` (warn and above, and separately info): 0 keeps none. */
    readonly logBufferLines: number;
    /** Where `test` sends a real message, when set (digits only). */
    readonly testPhone: string | undefined;
    /** The Telegram ops bot (actors/ops-bot); absent without OPS_BOT_TOKEN. */
    readonly bot:
      | {
          readonly token: string;
          readonly allowedChatIds: readonly string[];
          readonly apiRoot: string;
          /** How long a restart or recover confirmation button stays valid. */
          readonly confirmTtlMs: number;
        }
      | undefined;
  };
}

/** The variables, their parsers and defaults: the one place a config name is spelled. */
const VARIABLES = {
  PORT: integer({ min: 0, max: 65_535, fallback: 3000 }),
  HOST: string({ fallback: '127.0.0.1' }),
  HTTP_BODY_TIMEOUT_MS: integer({ min: 100, max: 3_600_000, fallback: 10_000 }),
  HTTP_HEADERS_TIMEOUT_MS: integer({ min: 100, max: 3_600_000, fallback: 10_000 }),
  // Longer than the 60 s idle timeout of common proxies and load balancers (nginx upstream
  // keepalive, AWS ALB): a server that closes first races the proxy reusing the socket (a 502).
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer({ min: 100, max: 3_600_000, fallback: 72_000 }),
  HTTP_MAX_CONNECTIONS: integer({ min: 0, max: 1_000_000, fallback: 1_024 }),
  LOG_LEVEL: logLevel({ fallback: 'info' }),
  ADMIN_TOKEN: secret({ minLength: 16 }),
  BACKOFF_INITIAL_MS: integer({ min: 0, max: 3_600_000, fallback: DEFAULT_BACKOFF.initialMs }),
  BACKOFF_MAX_MS: integer({ min: 0, max: 86_400_000, fallback: DEFAULT_BACKOFF.maxMs }),
  BACKOFF_MAX_ATTEMPTS: integer({ min: 1, max: 1_000_000, fallback: DEFAULT_BACKOFF.maxAttempts }),
  SHUTDOWN_TIMEOUT_MS: integer({ min: 100, max: 600_000, fallback: 30_000 }),
  ROOT_MAX_RESTARTS: integer({ min: 0, max: 1_000_000, fallback: 5 }),
  ROOT_RESTART_WINDOW_MS: integer({ min: 1, max: 86_400_000, fallback: 60_000 }),
  LEAF_MAX_RESTARTS: integer({ min: 0, max: 1_000_000, fallback: 1_000 }),
  LEAF_RESTART_WINDOW_MS: integer({ min: 1, max: 86_400_000, fallback: 60_000 }),
  STORE_PING_INTERVAL_MS: integer({ min: 50, max: 600_000, fallback: 2_000 }),
  STORE_RETRY_MS: integer({ min: 10, max: 600_000, fallback: 500 }),
  MEMORY_CHECK_INTERVAL_MS: integer({ min: 100, max: 3_600_000, fallback: 10_000 }),
  MEMORY_RSS_WARN_MB: integer({ min: 16, max: 1_048_576, fallback: 1024 }),
  MEMORY_RSS_CRITICAL_MB: integer({ min: 16, max: 1_048_576, fallback: 1536 }),
  MEMORY_HEAP_WARN_RATIO: ratio({ fallback: 0.85 }),
  METRICS_PROCESS: booleanFlag({ fallback: true }),
  REDIS_URL: url({ protocols: ['redis:', 'rediss:'], redactQuery: false }),
  BATCH_STORE: oneOf(['sqlite', 'redis', 'memory'] as const, { fallback: 'sqlite' }),
  DATA_DIR: string({ fallback: './data' }),
  SQLITE_SYNCHRONOUS: oneOf(['normal', 'full'] as const, { fallback: 'normal' }),
  REDIS_KEY_PREFIX: pattern({ regex: /^[A-Za-z0-9:_-]{0,64}$/, description: "up to 64 letters, digits, ':', '_' or '-'", fallback: 'wa:' }),
  BATCH_WINDOW_MS: integer({ min: 1, max: 3_600_000, fallback: 9_000 }),
  BATCH_MAX_MESSAGES: integer({ min: 1, max: 10_000, fallback: 10 }),
  BATCH_MAX_AGE_MS: integer({ min: 1, max: 86_400_000, fallback: 60_000 }),
  BATCH_TTL_S: integer({ min: 60, max: 30 * 86_400, fallback: 86_400 }),
  BATCH_LEASE_MS: integer({ min: 100, max: 3_600_000, fallback: 30_000 }),
  BATCH_SWEEP_INTERVAL_MS: integer({ min: 50, max: 3_600_000, fallback: 5_000 }),
  BATCH_WEBHOOK_URL: url({ protocols: ['http:', 'https:'], redactQuery: true }),
  HANDLER_MODULE: optionalString(),
  PIPELINE_CONCURRENCY: integer({ min: 1, max: 256, fallback: 4 }),
  HANDLER_TIMEOUT_MS: integer({ min: 10, max: 600_000, fallback: 30_000 }),
  PIPELINE_MAX_ATTEMPTS: integer({ min: 1, max: 100, fallback: 5 }),
  PIPELINE_RETRY_INITIAL_MS: integer({ min: 1, max: 600_000, fallback: 1_000 }),
  PIPELINE_RETRY_MAX_MS: integer({ min: 1, max: 3_600_000, fallback: 60_000 }),
  PIPELINE_QUEUE_MAX: integer({ min: 1, max: 1_000_000, fallback: 10_000 }),
  WA_SESSIONS: idList({ regex: /^[A-Za-z0-9_-]{1,64}$/, description: "1 to 64 letters, digits, '_' or '-'" }),
  WA_AUTH_DIR: string({ fallback: './data/wa-auth' }),
  WA_WEBSOCKET_URL: url({ protocols: ['ws:', 'wss:'], redactQuery: true }),
  WA_CONNECT_TIMEOUT_MS: integer({ min: 100, max: 600_000, fallback: 20_000 }),
  WA_KEEPALIVE_INTERVAL_MS: integer({ min: 100, max: 600_000, fallback: 30_000 }),
  WA_QR_TIMEOUT_MS: integer({ min: 1_000, max: 600_000, fallback: 60_000 }),
  WA_SEND_QUEUE_MAX: integer({ min: 1, max: 1_000_000, fallback: 1_000 }),
  WA_SEND_ATTEMPTS: integer({ min: 1, max: 100, fallback: 5 }),
  WA_SEND_RETRY_MS: integer({ min: 10, max: 600_000, fallback: 1_000 }),
  WA_SEND_TIMEOUT_MS: integer({ min: 1_000, max: 600_000, fallback: 90_000 }),
  WA_INBOUND_BUFFER_MAX: integer({ min: 1, max: 1_000_000, fallback: 10_000 }),
  WA_SOCKET_SHUTDOWN_MS: integer({ min: 100, max: 600_000, fallback: 10_000 }),
  WA_SESSIONS_PER_THREAD: integer({ min: 1, max: 1_000, fallback: 16 }),
  WA_SOCKET_MODULE: optionalString(),
  NODE_ID: optionalString(),
  WA_LEASE_MS: integer({ min: 1_000, max: 600_000, fallback: 15_000 }),
  MONITOR_INTERVAL_MS: integer({ min: 100, max: 3_600_000, fallback: 10_000 }),
  WA_DOWN_ALERT_MS: integer({ min: 1_000, max: 86_400_000, fallback: 60_000 }),
  WA_DECRYPT_ERRORS_WARN_PER_MIN: integer({ min: 1, max: 1_000_000, fallback: 60 }),
  QUEUE_WARN_DEPTH: integer({ min: 1, max: 10_000_000, fallback: 1_000 }),
  QUEUE_CRITICAL_DEPTH: integer({ min: 1, max: 10_000_000, fallback: 5_000 }),
  QUEUE_MAX_AGE_MS: integer({ min: 1_000, max: 30 * 86_400_000, fallback: 300_000 }),
  RESTART_ALERT_COUNT: integer({ min: 1, max: 1_000_000, fallback: 10 }),
  RESTART_ALERT_WINDOW_MS: integer({ min: 1_000, max: 86_400_000, fallback: 300_000 }),
  EVENT_LOOP_WARN_MS: integer({ min: 1, max: 600_000, fallback: 200 }),
  EVENT_LOOP_CRITICAL_MS: integer({ min: 1, max: 600_000, fallback: 1_000 }),
  ACTIVITY_IDLE_MS: integer({ min: 0, max: 30 * 86_400_000, fallback: 0 }),
  REDIS_PING_WARN_MS: integer({ min: 1, max: 600_000, fallback: 100 }),
  REDIS_MEMORY_WARN_RATIO: ratio({ fallback: 0.8 }),
  REDIS_MEMORY_CRITICAL_RATIO: ratio({ fallback: 0.95 }),
  CANARY_URLS: canaryTargets(),
  CANARY_INTERVAL_MS: integer({ min: 100, max: 86_400_000, fallback: 60_000 }),
  CANARY_TIMEOUT_MS: integer({ min: 10, max: 600_000, fallback: 5_000 }),
  CANARY_FAILURE_THRESHOLD: integer({ min: 1, max: 1_000, fallback: 3 }),
  CANARY_SUCCESS_THRESHOLD: integer({ min: 1, max: 1_000, fallback: 2 }),
  CHECK_HISTORY_SIZE: integer({ min: 10, max: 1_000_000, fallback: 1_440 }),
  ALERT_GROUP_WAIT_MS: integer({ min: 0, max: 86_400_000, fallback: 30_000 }),
  ALERT_GROUP_INTERVAL_MS: integer({ min: 1, max: 86_400_000, fallback: 300_000 }),
  ALERT_REPEAT_INTERVAL_MS: integer({ min: 1, max: 30 * 86_400_000, fallback: 14_400_000 }),
  ALERT_CHANNEL_QUEUE_MAX: integer({ min: 1, max: 1_000_000, fallback: 1_000 }),
  ALERT_TELEGRAM_BOT_TOKEN: secret({ minLength: 10 }),
  ALERT_TELEGRAM_CHAT_ID: idList({ regex: /^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/, description: 'a numeric chat id or an @channelusername' }),
  TELEGRAM_API_ROOT: url({ protocols: ['http:', 'https:'], redactQuery: true }),
  ALERT_N8N_WEBHOOK_URL: url({ protocols: ['http:', 'https:'], redactQuery: true }),
  YCLIENTS_BASE_URL: url({ protocols: ['http:', 'https:'], redactQuery: true }),
  YCLIENTS_PARTNER_TOKEN: secret({ minLength: 8 }),
  YCLIENTS_USER_TOKEN: secret({ minLength: 8 }),
  YCLIENTS_COMPANY_ID: optionalInteger({ min: 1, max: 1_000_000_000 }),
  YCLIENTS_TIMEOUT_MS: integer({ min: 100, max: 600_000, fallback: 10_000 }),
  YCLIENTS_RATE_PER_SECOND: integer({ min: 1, max: 1_000, fallback: 5 }),
  YCLIENTS_RATE_PER_MINUTE: integer({ min: 1, max: 60_000, fallback: 200 }),
  YCLIENTS_QUEUE_MAX: integer({ min: 1, max: 1_000_000, fallback: 1_000 }),
  YCLIENTS_QUEUE_TIMEOUT_MS: integer({ min: 10, max: 3_600_000, fallback: 60_000 }),
  YCLIENTS_BREAKER_FAILURES: integer({ min: 1, max: 1_000, fallback: 5 }),
  YCLIENTS_BREAKER_COOLDOWN_MS: integer({ min: 10, max: 3_600_000, fallback: 30_000 }),
  YCLIENTS_CACHE_TTL_MS: integer({ min: 0, max: 86_400_000, fallback: 300_000 }),
  DASHBOARD_TOKEN: secret({ minLength: 16 }),
  DASHBOARD_MAX_CLIENTS: integer({ min: 1, max: 10_000, fallback: 20 }),
  DASHBOARD_CLIENT_BUFFER_BYTES: integer({ min: 1_024, max: 268_435_456, fallback: 1_048_576 }),
  COMPANIES: companies(),
  LOG_BUFFER_LINES: integer({ min: 0, max: 100_000, fallback: 1_000 }),
  OPS_BOT_TOKEN: secret({ minLength: 10 }),
  OPS_ALLOWED_CHAT_IDS: idList({ regex: /^-?\d{1,20}$/, description: 'a numeric Telegram chat id' }),
  OPS_CONFIRM_TTL_MS: integer({ min: 1_000, max: 3_600_000, fallback: 60_000 }),
  OPS_TEST_PHONE: pattern({ regex: /^(\+?[0-9]{7,15})?$/, description: 'a phone number in international form, 7 to 15 digits', fallback: '' }),
  CONFIG_FILE: optionalString(),
} satisfies Record<string, Parser<unknown>>;

export type VariableName = keyof typeof VARIABLES;

/** Every variable the runtime reads (the README's configuration table lists each). */
export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

export class ConfigError extends RuntimeError {
  constructor(readonly problems: readonly string[]) {
    super('WAR_ERR_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface LoadedConfig {
  readonly config: Config;
  /** Every variable with the value in effect; secrets show as "[redacted]" or null. */
  readonly effective: Readonly<Record<VariableName, string | number | boolean | null>>;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads the variables from `env`, with CONFIG_FILE (a JSON object of the same names) as a
 * lower layer. Collects every problem and throws one ConfigError naming each variable.
 */
export function loadConfig(env: Environment): LoadedConfig {
  const problems: string[] = [];
  const source = withConfigFile(env, problems);
  const values = {} as { [K in VariableName]: Parsed<(typeof VARIABLES)[K]> };
  const effective = {} as Record<VariableName, string | number | boolean | null>;
  for (const name of Object.keys(VARIABLES) as VariableName[]) {
    const parser = VARIABLES[name] as Parser<unknown>;
    const result = parser.parse(source[name]);
    if (!result.ok) {
      problems.push(`${name} ${result.problem}`);
      continue;
    }
    (values as Record<string, unknown>)[name] = result.value;
    effective[name] = parser.display(result.value);
  }
  if (problems.length === 0) {
    // Lowering the body timeout alone must not fail start-up on the headers' default.
    if ((source.HTTP_HEADERS_TIMEOUT_MS ?? '').trim() === '' && values.HTTP_HEADERS_TIMEOUT_MS > values.HTTP_BODY_TIMEOUT_MS) {
      values.HTTP_HEADERS_TIMEOUT_MS = values.HTTP_BODY_TIMEOUT_MS;
      effective.HTTP_HEADERS_TIMEOUT_MS = values.HTTP_BODY_TIMEOUT_MS;
    }
    // Unset, the store follows REDIS_URL: Redis when there is one, else the embedded SQLite.
    if ((source.BATCH_STORE ?? '').trim() === '' && values.REDIS_URL) {
      values.BATCH_STORE = 'redis';
      effective.BATCH_STORE = 'redis';
    }
    crossCheck(values, problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const config: Config = {
    port: values.PORT,
    host: values.HOST,
    http: {
      bodyTimeoutMs: values.HTTP_BODY_TIMEOUT_MS,
      headersTimeoutMs: values.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: values.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: values.HTTP_MAX_CONNECTIONS,
    },
    logLevel: values.LOG_LEVEL as LogLevel,
    adminToken: values.ADMIN_TOKEN,
    backoff: {
      initialMs: values.BACKOFF_INITIAL_MS,
      maxMs: values.BACKOFF_MAX_MS,
      maxAttempts: values.BACKOFF_MAX_ATTEMPTS,
    },
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    supervision: {
      root: { maxRestarts: values.ROOT_MAX_RESTARTS, withinMs: values.ROOT_RESTART_WINDOW_MS },
      leaf: { maxRestarts: values.LEAF_MAX_RESTARTS, withinMs: values.LEAF_RESTART_WINDOW_MS },
    },
    dataDir: values.DATA_DIR,
    store: {
      kind: values.BATCH_STORE as Config['store']['kind'],
      sqliteSynchronous: values.SQLITE_SYNCHRONOUS as Config['store']['sqliteSynchronous'],
      pingIntervalMs: values.STORE_PING_INTERVAL_MS,
      retryMs: values.STORE_RETRY_MS,
    },
    memory: {
      intervalMs: values.MEMORY_CHECK_INTERVAL_MS,
      rssWarnMb: values.MEMORY_RSS_WARN_MB,
      rssCriticalMb: values.MEMORY_RSS_CRITICAL_MB,
      heapWarnRatio: values.MEMORY_HEAP_WARN_RATIO,
    },
    metricsProcess: values.METRICS_PROCESS,
    redisUrl: values.REDIS_URL,
    redisKeyPrefix: values.REDIS_KEY_PREFIX,
    batching: {
      windowMs: values.BATCH_WINDOW_MS,
      maxMessages: values.BATCH_MAX_MESSAGES,
      maxAgeMs: values.BATCH_MAX_AGE_MS,
      ttlSeconds: values.BATCH_TTL_S,
      leaseMs: values.BATCH_LEASE_MS,
      sweepIntervalMs: values.BATCH_SWEEP_INTERVAL_MS,
    },
    pipeline: {
      webhookUrl: values.BATCH_WEBHOOK_URL,
      handlerModule: values.HANDLER_MODULE,
      concurrency: values.PIPELINE_CONCURRENCY,
      handlerTimeoutMs: values.HANDLER_TIMEOUT_MS,
      maxAttempts: values.PIPELINE_MAX_ATTEMPTS,
      retryInitialMs: values.PIPELINE_RETRY_INITIAL_MS,
      retryMaxMs: values.PIPELINE_RETRY_MAX_MS,
      queueMax: values.PIPELINE_QUEUE_MAX,
    },
    whatsapp: {
      sessions: values.WA_SESSIONS,
      authDir: values.WA_AUTH_DIR,
      webSocketUrl: values.WA_WEBSOCKET_URL,
      connectTimeoutMs: values.WA_CONNECT_TIMEOUT_MS,
      keepAliveIntervalMs: values.WA_KEEPALIVE_INTERVAL_MS,
      qrTimeoutMs: values.WA_QR_TIMEOUT_MS,
      sendQueueMax: values.WA_SEND_QUEUE_MAX,
      sendAttempts: values.WA_SEND_ATTEMPTS,
      sendRetryMs: values.WA_SEND_RETRY_MS,
      sendTimeoutMs: values.WA_SEND_TIMEOUT_MS,
      inboundBufferMax: values.WA_INBOUND_BUFFER_MAX,
      socketShutdownMs: values.WA_SOCKET_SHUTDOWN_MS,
      sessionsPerThread: values.WA_SESSIONS_PER_THREAD,
      socketModule: values.WA_SOCKET_MODULE ? pathToFileURL(resolve(values.WA_SOCKET_MODULE)).href : undefined,
      nodeId: values.NODE_ID ?? `${hostname()}:${process.pid}`,
      leaseMs: values.WA_LEASE_MS,
    },
    monitors: {
      intervalMs: values.MONITOR_INTERVAL_MS,
      waDownAlertMs: values.WA_DOWN_ALERT_MS,
      decryptErrorsWarnPerMinute: values.WA_DECRYPT_ERRORS_WARN_PER_MIN,
      queue: { warnDepth: values.QUEUE_WARN_DEPTH, criticalDepth: values.QUEUE_CRITICAL_DEPTH, maxAgeMs: values.QUEUE_MAX_AGE_MS },
      restarts: { count: values.RESTART_ALERT_COUNT, windowMs: values.RESTART_ALERT_WINDOW_MS },
      eventLoop: { warnMs: values.EVENT_LOOP_WARN_MS, criticalMs: values.EVENT_LOOP_CRITICAL_MS },
      activityIdleMs: values.ACTIVITY_IDLE_MS,
      redis: { pingWarnMs: values.REDIS_PING_WARN_MS, memoryWarnRatio: values.REDIS_MEMORY_WARN_RATIO, memoryCriticalRatio: values.REDIS_MEMORY_CRITICAL_RATIO },
    },
    canary: {
      targets: values.CANARY_URLS,
      intervalMs: values.CANARY_INTERVAL_MS,
      timeoutMs: values.CANARY_TIMEOUT_MS,
      failureThreshold: values.CANARY_FAILURE_THRESHOLD,
      successThreshold: values.CANARY_SUCCESS_THRESHOLD,
    },
    checkHistorySize: values.CHECK_HISTORY_SIZE,
    alerts: {
      groupWaitMs: values.ALERT_GROUP_WAIT_MS,
      groupIntervalMs: values.ALERT_GROUP_INTERVAL_MS,
      repeatIntervalMs: values.ALERT_REPEAT_INTERVAL_MS,
      channelQueueMax: values.ALERT_CHANNEL_QUEUE_MAX,
      telegram: values.ALERT_TELEGRAM_BOT_TOKEN
        ? { botToken: values.ALERT_TELEGRAM_BOT_TOKEN, chatIds: values.ALERT_TELEGRAM_CHAT_ID, apiRoot: (values.TELEGRAM_API_ROOT ?? 'https://api.telegram.org').replace(/\/+$/, '') }
        : undefined,
      n8n: values.ALERT_N8N_WEBHOOK_URL ? { webhookUrl: values.ALERT_N8N_WEBHOOK_URL } : undefined,
    },
    booking: values.YCLIENTS_PARTNER_TOKEN
      ? {
          baseUrl: (values.YCLIENTS_BASE_URL ?? 'https://api.yclients.com/api/v1').replace(/\/+$/, ''),
          partnerToken: values.YCLIENTS_PARTNER_TOKEN,
          userToken: values.YCLIENTS_USER_TOKEN,
          companyId: values.YCLIENTS_COMPANY_ID,
          timeoutMs: values.YCLIENTS_TIMEOUT_MS,
          ratePerSecond: values.YCLIENTS_RATE_PER_SECOND,
          ratePerMinute: values.YCLIENTS_RATE_PER_MINUTE,
          queueMax: values.YCLIENTS_QUEUE_MAX,
          queueTimeoutMs: values.YCLIENTS_QUEUE_TIMEOUT_MS,
          breakerFailures: values.YCLIENTS_BREAKER_FAILURES,
          breakerCooldownMs: values.YCLIENTS_BREAKER_COOLDOWN_MS,
          cacheTtlMs: values.YCLIENTS_CACHE_TTL_MS,
        }
      : undefined,
    dashboard: { token: values.DASHBOARD_TOKEN, maxClients: values.DASHBOARD_MAX_CLIENTS, clientBufferBytes: values.DASHBOARD_CLIENT_BUFFER_BYTES },
    ops: {
      companies: values.COMPANIES,
      logBufferLines: values.LOG_BUFFER_LINES,
      testPhone: values.OPS_TEST_PHONE === '' ? undefined : values.OPS_TEST_PHONE.replace(/^\+/, ''),
      bot: values.OPS_BOT_TOKEN
        ? {
            token: values.OPS_BOT_TOKEN,
            allowedChatIds: values.OPS_ALLOWED_CHAT_IDS,
            apiRoot: (values.TELEGRAM_API_ROOT ?? 'https://api.telegram.org').replace(/\/+$/, ''),
            confirmTtlMs: values.OPS_CONFIRM_TTL_MS,
          }
        : undefined,
    },
  };
  return { config: deepFreeze(config), effective: Object.freeze(effective) };
}

function crossCheck(values: { [K in VariableName]: Parsed<(typeof VARIABLES)[K]> }, problems: string[]): void {
  if (values.BACKOFF_MAX_MS < values.BACKOFF_INITIAL_MS) {
    problems.push(
      `BACKOFF_MAX_MS must be at least BACKOFF_INITIAL_MS (${values.BACKOFF_INITIAL_MS}), got ${values.BACKOFF_MAX_MS}`,
    );
  }
  if (values.HTTP_HEADERS_TIMEOUT_MS > values.HTTP_BODY_TIMEOUT_MS) {
    // Node refuses a headers timeout longer than the request timeout; say so before it throws.
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS must be at most HTTP_BODY_TIMEOUT_MS (${values.HTTP_BODY_TIMEOUT_MS}), got ${values.HTTP_HEADERS_TIMEOUT_MS}`,
    );
  }
  if (values.BATCH_STORE === 'redis' && !values.REDIS_URL) {
    problems.push('BATCH_STORE is redis, but REDIS_URL is not set: set REDIS_URL, or BATCH_STORE=sqlite for the embedded store');
  }
  if (values.REDIS_URL && values.WA_SESSIONS.length > 0 && values.BATCH_STORE !== 'redis') {
    problems.push(
      `BATCH_STORE is ${values.BATCH_STORE}, but with REDIS_URL the sessions' auth state is in Redis, shared by every runtime on it: their send queues and ownership must be there too. Leave BATCH_STORE unset (redis with REDIS_URL) or set it to redis`,
    );
  }
  if (values.PIPELINE_RETRY_MAX_MS < values.PIPELINE_RETRY_INITIAL_MS) {
    problems.push(`PIPELINE_RETRY_MAX_MS must be at least PIPELINE_RETRY_INITIAL_MS (${values.PIPELINE_RETRY_INITIAL_MS}), got ${values.PIPELINE_RETRY_MAX_MS}`);
  }
  if (values.BATCH_MAX_AGE_MS < values.BATCH_WINDOW_MS) {
    problems.push(`BATCH_MAX_AGE_MS must be at least BATCH_WINDOW_MS (${values.BATCH_WINDOW_MS}), got ${values.BATCH_MAX_AGE_MS}`);
  }
  const handler = values.HANDLER_MODULE;
  if (handler && (handler.startsWith('.') || handler.startsWith('/')) && !existsSync(resolve(handler))) {
    problems.push(`HANDLER_MODULE ${JSON.stringify(handler)} does not exist (relative paths are resolved from ${process.cwd()})`);
  }
  if (values.WA_SOCKET_MODULE && !existsSync(resolve(values.WA_SOCKET_MODULE))) {
    problems.push(`WA_SOCKET_MODULE ${JSON.stringify(values.WA_SOCKET_MODULE)} does not exist (relative paths are resolved from ${process.cwd()})`);
  }
  if (values.QUEUE_CRITICAL_DEPTH <= values.QUEUE_WARN_DEPTH) {
    problems.push(`QUEUE_CRITICAL_DEPTH must be greater than QUEUE_WARN_DEPTH (${values.QUEUE_WARN_DEPTH}), got ${values.QUEUE_CRITICAL_DEPTH}`);
  }
  if (values.EVENT_LOOP_CRITICAL_MS <= values.EVENT_LOOP_WARN_MS) {
    problems.push(`EVENT_LOOP_CRITICAL_MS must be greater than EVENT_LOOP_WARN_MS (${values.EVENT_LOOP_WARN_MS}), got ${values.EVENT_LOOP_CRITICAL_MS}`);
  }
  if (values.REDIS_MEMORY_CRITICAL_RATIO <= values.REDIS_MEMORY_WARN_RATIO) {
    problems.push(`REDIS_MEMORY_CRITICAL_RATIO must be greater than REDIS_MEMORY_WARN_RATIO (${values.REDIS_MEMORY_WARN_RATIO}), got ${values.REDIS_MEMORY_CRITICAL_RATIO}`);
  }
  if (values.ALERT_TELEGRAM_BOT_TOKEN && values.ALERT_TELEGRAM_CHAT_ID.length === 0) {
    problems.push('ALERT_TELEGRAM_CHAT_ID must name at least one chat when ALERT_TELEGRAM_BOT_TOKEN is set');
  }
  if (!values.ALERT_TELEGRAM_BOT_TOKEN && values.ALERT_TELEGRAM_CHAT_ID.length > 0) {
    problems.push('ALERT_TELEGRAM_BOT_TOKEN must be set when ALERT_TELEGRAM_CHAT_ID is (the chats are told through that bot)');
  }
  if (values.OPS_BOT_TOKEN && values.OPS_ALLOWED_CHAT_IDS.length === 0) {
    problems.push('OPS_ALLOWED_CHAT_IDS must name at least one chat when OPS_BOT_TOKEN is set (the ops bot answers only those chats)');
  }
  if (!values.OPS_BOT_TOKEN && values.OPS_ALLOWED_CHAT_IDS.length > 0) {
    problems.push('OPS_BOT_TOKEN must be set when OPS_ALLOWED_CHAT_IDS is (those chats talk to that bot)');
  }
  for (const company of values.COMPANIES) {
    const unknown = company.sessions.filter((session) => !values.WA_SESSIONS.includes(session));
    if (unknown.length > 0) problems.push(`COMPANIES: company ${company.id} names ${unknown.map((id) => JSON.stringify(id)).join(', ')}, not in WA_SESSIONS (${values.WA_SESSIONS.join(',') || 'empty'})`);
  }
  if (values.ALERT_REPEAT_INTERVAL_MS < values.ALERT_GROUP_INTERVAL_MS) {
    problems.push(`ALERT_REPEAT_INTERVAL_MS must be at least ALERT_GROUP_INTERVAL_MS (${values.ALERT_GROUP_INTERVAL_MS}), got ${values.ALERT_REPEAT_INTERVAL_MS}`);
  }
  if (!values.YCLIENTS_PARTNER_TOKEN && values.YCLIENTS_USER_TOKEN) {
    problems.push('YCLIENTS_PARTNER_TOKEN must be set when YCLIENTS_USER_TOKEN is (every YClients call carries the partner token)');
  }
  if (values.YCLIENTS_RATE_PER_MINUTE < values.YCLIENTS_RATE_PER_SECOND) {
    problems.push(`YCLIENTS_RATE_PER_MINUTE must be at least YCLIENTS_RATE_PER_SECOND (${values.YCLIENTS_RATE_PER_SECOND}), got ${values.YCLIENTS_RATE_PER_MINUTE}`);
  }
  if (values.MEMORY_RSS_CRITICAL_MB <= values.MEMORY_RSS_WARN_MB) {
    problems.push(
      `MEMORY_RSS_CRITICAL_MB must be greater than MEMORY_RSS_WARN_MB (${values.MEMORY_RSS_WARN_MB}), got ${values.MEMORY_RSS_CRITICAL_MB}`,
    );
  }
}

function withConfigFile(env: Environment, problems: string[]): Environment {
  const file = env.CONFIG_FILE;
  if (file === undefined || file === '') return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // Never the parser's message: it quotes the file, and the file holds secrets.
    const why = error instanceof SyntaxError ? `is not valid JSON${jsonPosition(error.message)}` : `could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    problems.push(`CONFIG_FILE ${JSON.stringify(file)} ${why}`);
    return env;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`CONFIG_FILE ${JSON.stringify(file)} must hold a JSON object of variable names`);
    return env;
  }
  const layered: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(name in VARIABLES)) {
      problems.push(`CONFIG_FILE names an unknown variable ${name}`);
      continue;
    }
    layered[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') layered[name] = value;
  return layered;
}

function jsonPosition(message: string): string {
  const position = /position (\d+)/.exec(message);
  return position ? ` (at character ${position[1]})` : '';
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
