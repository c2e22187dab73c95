// Every request the page makes goes through here: typed by the generated schema, sent with the
// session cookie, and turned into an ApiError carrying the service's error code when it fails.
import createClient from 'openapi-fetch';
import type { paths } from './schema';

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '', credentials: 'same-origin' });

/** The service's JSON error (`{error: {code, message}}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's data, or its error thrown as an ApiError. */
export async function unwrap<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch {
    throw new ApiError(0, 'network', 'The service cannot be reached. Check your connection and try again.');
  }
  const { data, error, response } = answer;
  if (response.ok) return data as T;
  const detail = (error as { error?: { code?: string; message?: string } } | undefined)?.error;
  const retry = Number(response.headers.get('retry-after') ?? '') || undefined;
  throw new ApiError(response.status, detail?.code ?? 'http_error', detail?.message ?? response.statusText, retry);
}
