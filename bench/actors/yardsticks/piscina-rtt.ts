/**
 * Yardstick: piscina 5.3.2 `run()` round trip with a trivial task, one thread, one task in
 * flight. This is what hosting actors as pool tasks would pay per message.
 */
import { Piscina } from 'piscina';
import { siblingModule } from '../../../src/thread/module-url.js';
import { measureRoundTrips, type RoundTripPlan } from '../cross-thread.js';
import { ping, type Ping } from '../messages.js';

export async function piscinaRoundTripSamples(plan: RoundTripPlan): Promise<number[]> {
  const filename = siblingModule(import.meta.url, './piscina-task.js');
  if (filename.endsWith('.ts')) throw new Error('piscina cannot load a .ts task: run the compiled bench (npm run bench)');
  const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 });
  try {
    return await measureRoundTrips(plan, async (seq) => {
      const reply = (await pool.run(ping(seq))) as Ping;
      if (reply.seq !== seq) throw new Error(`piscina answered ${reply.seq} to ${seq}`);
    });
  } finally {
    await pool.destroy();
  }
}
