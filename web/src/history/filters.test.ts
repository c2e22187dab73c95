import { describe, expect, it } from 'vitest';
import type { Job } from '../api/types';
import { apiQuery, matches, readFilters, withLive, writeFilters } from './filters';

const job = (id: string, extra: Partial<Job> = {}): Job =>
  ({ id, version: 1, status: 'failed', type: 'import', progress: 0, created_at: '2026-12-02T10:00:00Z', stalled: false,
     metadata: { filename: 'Prices-2026.csv' }, error_message: 'line 3: bad price', ...extra }) as Job;

describe('history filters', () => {
  it('round-trip through the URL, dropping what the service would refuse', () => {
    const filters = readFilters('?status=failed,bogus,cancelled&type=import&from=2026-12-01&to=nope&q=%20prices%20&user=all&cursor=abc');
    expect(filters).toEqual({ status: ['failed', 'cancelled'], type: ['import'], from: '2026-12-01', to: undefined, q: 'prices', user: 'all', cursor: 'abc' });
    expect(readFilters('?user=someone-else').user).toBeUndefined();
    expect(readFilters('?from=2026-13-01&to=2026-02-30x').from).toBeUndefined();
    expect(readFilters(writeFilters(filters))).toEqual(filters);
    expect(writeFilters(readFilters(''))).toBe('');
  });

  it('make the API query: comma lists, local days as RFC 3339 bounds', () => {
    const query = apiQuery(readFilters('?status=failed&from=2026-12-01&to=2026-12-01'));
    expect(query.status).toBe('failed');
    expect(Date.parse(query.created_to!) - Date.parse(query.created_from!)).toBe(24 * 3600 * 1000);
  });

  it('match a pushed job as the service matches its rows', () => {
    const f = (search: string) => readFilters(search);
    expect(matches(job('abc'), f('?status=failed&q=PRICES'))).toBe(true);
    expect(matches(job('abc'), f('?q=bad%20price'))).toBe(true);
    expect(matches(job('abcdef'), f('?q=abc'))).toBe(true);
    expect(matches(job('abc'), f('?status=completed'))).toBe(false);
    expect(matches(job('abc'), f('?type=export'))).toBe(false);
    expect(matches(job('abc'), f('?q=nothing'))).toBe(false);
    expect(matches(job('abc', { created_at: '2020-01-01T00:00:00Z' }), f('?from=2026-01-01'))).toBe(false);
  });

  it('show pushed jobs only where they match (the classic live-list bug)', () => {
    const page = [job('old', { created_at: '2026-12-02T09:00:00Z' })];
    const failedNew = job('new-failed', { created_at: '2026-12-02T11:00:00Z' });
    const runningNew = job('new-running', { status: 'running', created_at: '2026-12-02T11:00:00Z' });
    const failedOnly = readFilters('?status=failed');
    expect(withLive(page, [failedNew, runningNew], failedOnly).map((j) => j.id)).toEqual(['new-failed', 'old']);
    // Not on later pages: they belong to the first.
    expect(withLive(page, [failedNew], readFilters('?status=failed&cursor=x')).map((j) => j.id)).toEqual(['old']);
    // A row retried since the page loaded leaves a "failed" view, and shows its newer state elsewhere.
    const retried = job('old', { version: 2, status: 'pending', created_at: '2026-12-02T09:00:00Z' });
    expect(withLive(page, [retried], failedOnly)).toEqual([]);
    expect(withLive(page, [retried], readFilters(''))[0]!.status).toBe('pending');
  });
});
