import type { AlertNotification } from './alert.js';
import { AlertGroups, type GroupView } from './grouping.js';
import { Silences, type Silence, type SilenceRequest } from './silences.js';

export interface AlertStateOptions {
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
}

/** What GET /alerts answers. */
export interface AlertsView {
  readonly groups: readonly GroupView[];
  readonly silences: readonly Silence[];
  readonly notifications: { readonly sent: number; readonly lastAt: string | null };
}

/**
 * The alert groups and the silences of one runtime. Owned by the alerts feature rather than
 * by the notifier actor, so a crash of the notifier loses neither what is firing nor an
 * operator's silences; only the notifier changes the groups.
 */
export class AlertState {
  readonly silences = new Silences();
  readonly groups: AlertGroups;
  #notifications = 0;
  #lastNotificationAt: number | null = null;

  constructor(options: AlertStateOptions, currentSummary?: (source: string) => string | undefined) {
    this.groups = new AlertGroups({ ...options, isSilenced: (alert, now) => this.silences.matches(alert, now), ...(currentSummary ? { currentSummary } : {}) });
  }

  recordSent(notification: AlertNotification): void {
    this.#notifications++;
    this.#lastNotificationAt = Date.parse(notification.sentAt);
  }

  view(now: number): AlertsView {
    return {
      groups: this.groups.view(now),
      silences: this.silences.list(now),
      notifications: { sent: this.#notifications, lastAt: this.#lastNotificationAt === null ? null : new Date(this.#lastNotificationAt).toISOString() },
    };
  }

  silence(request: SilenceRequest, now: number): Silence {
    return this.silences.add(request, now);
  }
}
