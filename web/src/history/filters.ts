// History's filters, read from and written to the URL (a filtered view can be bookmarked and
// shared), and the same filters applied to a pushed job, so a live change shows only where
// it belongs.
import type { Job, JobStatus, SubmittableType } from '../api/types';

export const STATUSES: JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
/** The types people submit: the ones a history filter offers. */
export const TYPES: SubmittableType[] = ['import', 'export', 'validation', 'processing'];

export interface HistoryFilters {
  status: JobStatus[];
  type: Job['type'][];
  /** `YYYY-MM-DD`, the first day included (local time). */
  from?: string;
  /** `YYYY-MM-DD`, the last day included (local time). */
  to?: string;
  q?: string;
  /** Admins: every user's jobs. */
  user?: 'all';
  cursor?: string;
}

const list = <T extends string>(value: string | null, allowed: readonly T[]): T[] =>
  (value ?? '').split(',').filter((v): v is T => (allowed as readonly string[]).includes(v));
const day = (value: string | null) =>
  value && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(new Date(`${value}T00:00:00`).getTime()) ? value : undefined;

export function readFilters(search: string): HistoryFilters {
  const params = new URLSearchParams(search);
  return {
    status: list(params.get('status'), STATUSES),
    type: list(params.get('type'), TYPES),
    from: day(params.get('from')),
    to: day(params.get('to')),
    q: params.get('q')?.trim() || undefined,
    user: params.get('user') === 'all' ? 'all' : undefined,
    cursor: params.get('cursor') || undefined,
  };
}

export function writeFilters(filters: HistoryFilters): string {
  const params = new URLSearchParams();
  if (filters.status.length) params.set('status', filters.status.join(','));
  if (filters.type.length) params.set('type', filters.type.join(','));
  if (filters.from) params.set('from', filters.from);
  if (filters.to) params.set('to', filters.to);
  if (filters.q) params.set('q', filters.q);
  if (filters.user) params.set('user', filters.user);
  if (filters.cursor) params.set('cursor', filters.cursor);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The instant a local day starts, as the API wants it (RFC 3339). */
const startOf = (date: string) => new Date(`${date}T00:00:00`).toISOString();
const dayAfter = (date: string) => {
  const next = new Date(`${date}T00:00:00`);
  next.setDate(next.getDate() + 1);
  return next.toISOString();
};

/** The query of `GET /api/v2/jobs` for these filters. */
export function apiQuery(filters: HistoryFilters) {
  return {
    status: filters.status.length ? filters.status.join(',') : undefined,
    type: filters.type.length ? filters.type.join(',') : undefined,
    created_from: filters.from ? startOf(filters.from) : undefined,
    created_to: filters.to ? dayAfter(filters.to) : undefined,
    q: filters.q,
    user: filters.user,
    cursor: filters.cursor,
    limit: 50,
  };
}

/** Whether the service would list `job` under these filters (as `GET /jobs` matches `q`:
 *  an id prefix, or the file name or the error's first 300 characters, case ignored). */
export function matches(job: Job, filters: HistoryFilters): boolean {
  if (filters.status.length && !filters.status.includes(job.status)) return false;
  if (filters.type.length && !filters.type.includes(job.type)) return false;
  const created = Date.parse(job.created_at);
  if (filters.from && created < Date.parse(startOf(filters.from))) return false;
  if (filters.to && created >= Date.parse(dayAfter(filters.to))) return false;
  if (filters.q) {
    const q = filters.q.toLowerCase();
    const metadata = (job.metadata ?? {}) as Record<string, unknown>;
    const file = typeof metadata.filename === 'string' ? metadata.filename.slice(0, 255).toLowerCase() : '';
    const error = (job.error_message ?? '').slice(0, 300).toLowerCase();
    if (!job.id.startsWith(q) && !file.includes(q) && !error.includes(q)) return false;
  }
  return true;
}

/** The page as shown: each row in the newest version the page holds, and on the first page,
 *  pushed jobs newer than its first row that match the filters on top. */
export function withLive(items: Job[], live: Job[], filters: HistoryFilters): Job[] {
  const byId = new Map(live.map((job) => [job.id, job]));
  const rows = items.map((job) => {
    const pushed = byId.get(job.id);
    return pushed && pushed.version > job.version ? pushed : job;
  });
  if (filters.cursor) return rows;
  const shown = new Set(items.map((job) => job.id));
  const newest = items.length ? Date.parse(items[0]!.created_at) : -Infinity;
  const arrived = live.filter((job) => !shown.has(job.id) && Date.parse(job.created_at) >= newest && matches(job, filters));
  return [...arrived, ...rows.filter((job) => matches(job, filters) || !byId.has(job.id))];
}
