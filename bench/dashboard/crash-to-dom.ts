import type { LatencyFigure } from '../support/suite.js';

/** Filled in with the page (headless Chromium). */
export async function crashToDom(_crashes: number): Promise<LatencyFigure> {
  throw new Error('not measured yet: the page is not built');
}
