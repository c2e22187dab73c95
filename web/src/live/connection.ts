// The page's one live channel: the WebSocket first; while it is down, reconnect with jittered
// backoff and meanwhile poll `GET /jobs/active` every 10 s, so the page never goes stale.
import type { Job, LiveMessage } from '../api/types';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface ConnectionOptions {
  /** `ws(s)://host/api/v2/jobs/ws`. */
  url: string;
  /** `GET /api/v2/jobs/active`. */
  poll: () => Promise<Job[]>;
  onSnapshot: (jobs: Job[]) => void;
  onJob: (job: Job) => void;
  onPolled: (jobs: Job[]) => void;
  onState: (state: LiveState) => void;
  /** The server closed the socket because the session is over (logout, expiry, disabled). */
  onSessionEnded: () => void;
  WebSocket?: typeof WebSocket;
  random?: () => number;
  pollEveryMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Poll meanwhile when no snapshot has arrived this long after connecting. */
  connectTimeoutMs?: number;
}

/** Close code the service uses when the socket's session has ended. */
export const SESSION_ENDED = 4401;

export function connect(options: ConnectionOptions): { stop: () => void } {
  const Socket = options.WebSocket ?? globalThis.WebSocket;
  const random = options.random ?? Math.random;
  const pollEveryMs = options.pollEveryMs ?? 10_000;
  const base = options.backoffBaseMs ?? 500;
  const max = options.backoffMaxMs ?? 30_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;

  let stopped = false;
  let socket: WebSocket | undefined;
  let failures = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;

  const poll = () => {
    options.poll().then(
      // An answer that arrives after the socket's snapshot is older than it: dropped.
      (jobs) => !stopped && pollTimer !== undefined && options.onPolled(jobs),
      (error: unknown) => {
        // The session ended while the socket was down (its upgrade's 401 reads as a plain
        // close): back to the login. Anything else: the next poll or the socket catches up.
        if (!stopped && (error as { status?: number } | undefined)?.status === 401) {
          stop();
          options.onSessionEnded();
        }
      },
    );
  };
  const startPolling = () => {
    if (pollTimer !== undefined) return;
    poll();
    pollTimer = setInterval(poll, pollEveryMs);
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = undefined;
  };

  const open = () => {
    if (stopped) return;
    const ws = new Socket(options.url, ['jobwatch.v1']);
    socket = ws;
    // A socket that never opens (a proxy holding it) must not leave the page without data.
    clearTimeout(connectTimer);
    connectTimer = setTimeout(() => socket === ws && !stopped && startPolling(), connectTimeoutMs);
    ws.onmessage = (event) => {
      if (stopped || socket !== ws) return;
      let message: LiveMessage;
      try {
        message = JSON.parse(String(event.data)) as LiveMessage;
      } catch {
        return;
      }
      if (message.type === 'snapshot') {
        failures = 0;
        clearTimeout(connectTimer);
        stopPolling();
        options.onSnapshot(message.jobs);
        options.onState('live');
      } else if (message.type === 'job') {
        options.onJob(message.job);
      }
    };
    ws.onclose = (event) => {
      if (stopped || socket !== ws) return;
      socket = undefined;
      if (event.code === SESSION_ENDED) {
        stop();
        options.onSessionEnded();
        return;
      }
      options.onState('reconnecting');
      startPolling();
      // Full jitter: clients dropped together (a node restarting) do not return together.
      const delay = random() * Math.min(max, base * 2 ** failures);
      failures += 1;
      reconnectTimer = setTimeout(open, delay);
    };
  };

  const stop = () => {
    stopped = true;
    clearTimeout(reconnectTimer);
    clearTimeout(connectTimer);
    stopPolling();
    const ws = socket;
    socket = undefined;
    if (!ws) return;
    // Closing a socket still connecting makes Chromium log an error: close it once open.
    if (ws.readyState === 0) ws.onopen = () => ws.close(1000, 'page closed');
    else if (ws.readyState === 1) ws.close(1000, 'page closed');
  };

  options.onState('connecting');
  open();
  return { stop };
}
