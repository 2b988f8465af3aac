/** One Server-Sent Event as a client parses it. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
  /** Date.now() when it was parsed. */
  readonly at: number;
}

/** An SSE stream read with fetch (as the dashboard page reads it: headers, not query tokens). */
export interface SseClient {
  readonly status: number;
  readonly events: SseEvent[];
  /** Bytes received so far. */
  readonly bytes: () => number;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  let bytes = 0;
  if (response.ok && response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          bytes += value.byteLength;
          buffer += decoder.decode(value, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let id: string | undefined;
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id') id = value;
              else if (field === 'event') event = value;
              else if (field === 'data') data.push(value);
            }
            if (data.length > 0) events.push({ id, event, data: data.join('\n'), at: Date.now() });
          }
        }
      } catch {
        // Closed.
      }
    })();
  }
  return { status: response.status, events, bytes: () => bytes, close: () => controller.abort() };
}
