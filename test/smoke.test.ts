import { describe, expect, it } from 'vitest';
import { local, thread } from '../supervisor/child-spec.js';
import { ActorSystem } from '../src/system/actor-system.js';
import { siblingModule } from '../src/thread/module-url.js';
import { silentLogger } from './support/logger.js';

describe('smoke', () => {
  it('runs a local and a thread actor', async () => {
    const system = new ActorSystem(
      {
        strategy: 'one_for_one',
        children: [
          { kind: 'actor', id: 'counter', behaviour: local<number, number>(() => { let n = 0; return { receive: (m) => (n += m) }; }) },
          { kind: 'actor', id: 'echo', behaviour: thread({ module: siblingModule(import.meta.url, './fixtures/echo-actor.js'), exportName: 'echoActor', args: { label: 'x' } }) },
        ],
      },
      { logger: silentLogger() },
    );
    await system.start();
    const counter = system.lookup<number, number>('/counter')!;
    counter.tell(1);
    expect(await counter.ask(2)).toBe(3);
    const echo = system.lookup('/echo')!;
    expect(await echo.ask({ type: 'echo', value: 42 })).toEqual({ label: 'x', value: 42 });
    const t1 = await echo.ask({ type: 'thread' });
    echo.tell({ type: 'exit', code: 3 });
    await new Promise((r) => setTimeout(r, 4000));
    console.log(JSON.stringify(system.snapshot(), null, 1));
    await system.shutdown();
  });
});
