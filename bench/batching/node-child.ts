/**
 * Runs a bench module in a child node process and returns the JSON of the last line it
 * prints. From TypeScript sources (tsx) the child gets the tsx loader; from dist/ it runs
 * the compiled file. The child is killed (by its pid) if it outlives `timeoutMs`, and is
 * never left running.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { siblingModule } from '../../src/thread/module-url.js';

export interface ChildOptions {
  /** `import.meta.url` of the caller and the sibling's `.js` name. */
  base: string;
  module: string;
  args: readonly string[];
  execArgv?: readonly string[];
  /**
   * A command the child runs under (e.g. `strace -f -o FILE`): spawned as
   * `wrapper[0] ...wrapper[1..] node ...`. On a timeout only the wrapper is killed, so a
   * wrapped child must also end itself by a deadline of its own.
   */
  wrapper?: readonly string[];
  /** Told each line of the child's stdout as it comes (progress, while the child runs). */
  onLine?: (line: string) => void;
  timeoutMs: number;
}

export function runNodeChild<T>(options: ChildOptions): Promise<T> {
  const url = siblingModule(options.base, options.module);
  const loader = url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const node = [process.execPath, ...loader, ...(options.execArgv ?? []), fileURLToPath(url), ...options.args];
  const command = options.wrapper && options.wrapper.length > 0 ? [...options.wrapper, ...node] : node;
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!options.onLine) return;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.module} did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) {
        reject(new Error(`${options.module} exited with ${code ?? signal}: ${(stderr.trim() || last).slice(-400)}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${options.module} printed no JSON report: ${stdout.slice(-200)} ${stderr.slice(-200)}`));
      }
    });
  });
}
