import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RuntimeError } from '../../src/errors.js';
import type { Batch, StoredMessage } from './batch.js';
import type { DeadLetter } from './batch-store.js';
import type { Conversation } from './conversation.js';

/** What the memory store keeps across a shutdown: everything not yet delivered, and the ids it remembers. */
export interface SpillContents {
  readonly pending: readonly (Conversation & { readonly messages: readonly StoredMessage[] })[];
  /** In cut order, so each conversation's batches are restored in the order they were cut. */
  readonly inFlight: readonly Batch[];
  readonly dead: readonly DeadLetter[];
  /** `<conversation key> <message id>` -> forget after (epoch seconds): duplicates stay duplicates. */
  readonly seen: readonly (readonly [string, number])[];
}

const FORMAT = 'wa-runtime memory spill v1';

/**
 * Written whole or not at all: to a temporary file, flushed to disk, then renamed over the
 * spill file, so a crash while writing leaves the previous spill (or none), never half of one.
 */
export async function writeSpill(file: string, contents: SpillContents): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify({ format: FORMAT, savedAt: new Date().toISOString(), ...contents }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

/**
 * The last run's spill, or undefined if there is none; `markSpillLoaded` once it is restored.
 * A file that is not a spill is a typed error naming it: starting without it would lose its
 * messages.
 */
export async function loadSpill(file: string): Promise<SpillContents | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: Partial<SpillContents> & { format?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw unreadable(file, 'it is not valid JSON (cut short?)');
  }
  if (parsed.format !== FORMAT || !Array.isArray(parsed.pending) || !Array.isArray(parsed.inFlight) || !Array.isArray(parsed.dead) || !Array.isArray(parsed.seen)) {
    throw unreadable(file, `it is not a ${FORMAT} file`);
  }
  return { pending: parsed.pending, inFlight: parsed.inFlight, dead: parsed.dead, seen: parsed.seen };
}

/** Once its contents are in the store: the operator keeps a copy, and the next spill does not merge with it. */
export async function markSpillLoaded(file: string): Promise<void> {
  await rename(file, `${file}.loaded`);
}

export function spillUnreadable(file: string, why: string): RuntimeError {
  return unreadable(file, why);
}

function unreadable(file: string, why: string): RuntimeError {
  return new RuntimeError('WAR_ERR_SPILL_UNREADABLE', `${file} cannot be loaded: ${why}; move it away to start without its messages`);
}
