/** `npm start` (and `node dist/src/main.js`): the runtime as a process (src/process/run-runtime.ts). */
import { failedToStart, runRuntime } from './process/run-runtime.js';

runRuntime().catch(failedToStart);
