import { anyErrorCode } from '../../src/errors.js';
import type { Feature, FeatureContext } from '../../src/feature.js';
import type { Operations } from '../../src/operations/operations.js';
import { TREE } from '../../src/tree-paths.js';
import { local, type ChildSpec } from '../../supervisor/child-spec.js';
import { isOutage } from '../../supervisor/restart-rule.js';
import { childId } from '../../supervisor/tree-node.js';
import { initialOpsBotState, opsBot, type IgnoreReason } from './ops-bot.js';

export interface OpsBotDeps {
  readonly operations: Operations;
  /** getUpdates' long-poll timeout in seconds (default 25); tests use 1. */
  readonly pollTimeoutSeconds?: number;
  /** One answer's request budget (default 10 s). */
  readonly requestTimeoutMs?: number;
}

export interface OpsBotOffers {
  /** Whether OPS_BOT_TOKEN set up a bot. */
  readonly enabled: boolean;
  /** Updates ignored since start, by reason (strangers, edited messages, ...). */
  ignored(): Readonly<Record<IgnoreReason, number>>;
}

export const DEFAULT_POLL_TIMEOUT_SECONDS = 25;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** What the outside world does to the bot: Telegram unreachable or failing, or another poller (409). */
export function isOpsBotOutage(error: Error): boolean {
  const code = anyErrorCode(error);
  return code === 'WAR_ERR_OPS_BOT_CONFLICT' || code === 'WAR_ERR_OPS_BOT_UNREACHABLE' || isOutage(error);
}

/**
 * `/ops-bot` (with OPS_BOT_TOKEN): the Telegram ops bot, a dependency child on `telegram-ops`.
 * Its outages (409, network, 5xx) are retried for ever at the capped backoff; a refused token
 * gives up after its attempts and stays down, the rest of the tree untouched. Without the
 * token there is no child.
 */
export function opsBotFeature(ctx: FeatureContext, deps: OpsBotDeps): Feature<OpsBotOffers> {
  const bot = ctx.config.ops.bot;
  const state = initialOpsBotState();
  const offers: OpsBotOffers = { enabled: bot !== undefined, ignored: () => ({ ...state.ignored }) };
  if (!bot) return { children: [], offers };
  const pollTimeoutSeconds = Math.max(1, Math.round(deps.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_SECONDS));
  const child: ChildSpec = {
    kind: 'actor',
    id: childId(TREE.opsBot),
    dependency: { name: 'telegram-ops', isOutage: isOpsBotOutage },
    onGiveUp: 'stay_down',
    behaviour: local(() =>
      opsBot({
        token: bot.token,
        apiRoot: bot.apiRoot,
        allowedChatIds: bot.allowedChatIds,
        confirmTtlMs: bot.confirmTtlMs,
        pollTimeoutSeconds,
        requestTimeoutMs: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        operations: deps.operations,
        checks: ctx.checks,
        scope: { sessions: ctx.config.whatsapp.sessions, companies: ctx.config.ops.companies.map((company) => company.id) },
        state,
      }),
    ),
  };
  return { children: [child], offers };
}

