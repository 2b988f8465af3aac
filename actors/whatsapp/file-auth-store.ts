import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthStore } from './auth-store.js';

/**
 * One file per entry in the session's directory. A write goes to a temporary file that is
 * synced and renamed over the old one, so a crash leaves the old or the new value, never a
 * torn one (Baileys' own multi-file store overwrites in place). Writes of one name are
 * chained so the later write always wins.
 */
export class FileAuthStore implements AuthStore {
  readonly kind = 'file';
  readonly #dir: string;
  readonly #chains = new Map<string, Promise<void>>();
  #ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async read(name: string): Promise<string | undefined> {
    await this.#ensureDir();
    await this.#chains.get(name);
    try {
      return await readFile(this.#file(name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(entries: ReadonlyMap<string, string | null>): Promise<void> {
    await this.#ensureDir();
    await Promise.all([...entries].map(([name, value]) => this.#chain(name, () => (value === null ? this.#remove(name) : this.#replace(name, value)))));
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    await this.#ensureDir();
    const names = (await readdir(this.#dir)).filter((file) => file.endsWith('.json')).map((file) => decodeURIComponent(file.slice(0, -5)));
    const doomed = names.filter((name) => name.startsWith(prefix));
    await this.write(new Map(doomed.map((name) => [name, null])));
    return doomed.length;
  }

  async clear(): Promise<void> {
    await Promise.all(this.#chains.values());
    await rm(this.#dir, { recursive: true, force: true });
    this.#ready = undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.#chains.values());
  }

  #file(name: string): string {
    return join(this.#dir, `${encodeURIComponent(name)}.json`);
  }

  #ensureDir(): Promise<void> {
    // 0o700: the directory holds a WhatsApp account's keys.
    this.#ready ??= mkdir(this.#dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.#ready;
  }

  #chain(name: string, task: () => Promise<void>): Promise<void> {
    const next = (this.#chains.get(name) ?? Promise.resolve()).then(task);
    const settled = next.catch(() => undefined);
    this.#chains.set(name, settled);
    void settled.then(() => {
      if (this.#chains.get(name) === settled) this.#chains.delete(name);
    });
    return next;
  }

  async #replace(name: string, value: string): Promise<void> {
    const target = this.#file(name);
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(value, 'utf8');
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await this.#syncDir();
  }

  async #remove(name: string): Promise<void> {
    try {
      await unlink(this.#file(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return;
    }
    await this.#syncDir();
  }

  /** A rename or unlink is durable only once the directory itself is synced. */
  async #syncDir(): Promise<void> {
    const handle = await open(this.#dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
