// Every job of the user's, newest first: filters in the URL, search, cursor pages, retry and
// cancel one by one or all of a page at once, changes pushed in as they happen.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { api, ApiError, unwrap } from '../api/client';
import { isFinal, type Job } from '../api/types';
import { jobTitle, STATUS_NAMES, when } from '../components/jobText';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useBulkAction, useJobAction } from '../components/useJobActions';
import { useSession } from '../auth/session';
import { useBackgroundJobs } from '../live/BackgroundJobs';
import { apiQuery, readFilters, STATUSES, TYPES, withLive, writeFilters, type HistoryFilters } from './filters';

export function HistoryPage() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const filters = readFilters(search);
  const go = (next: HistoryFilters) => navigate(`/${writeFilters(next)}`);
  const page = useQuery({
    queryKey: ['history', search],
    queryFn: () => unwrap(api.GET('/api/v2/jobs', { params: { query: apiQuery(filters) } })),
    placeholderData: keepPreviousData,
  });
  const { jobs: live } = useBackgroundJobs();
  const admin = useSession().data?.is_admin ?? false;
  const rows = page.data ? withLive(page.data.items, live, filters) : [];
  const bulk = useBulkAction();
  const failed = rows.filter((job) => job.status === 'failed' || job.status === 'cancelled');
  const active = rows.filter((job) => !isFinal(job.status));

  return (
    <main className="page">
      <h1>{filters.user === 'all' ? 'Every user’s jobs' : 'Jobs'}</h1>
      <Filters filters={filters} onChange={go} admin={admin} />
      <div className="toolbar">
        <button type="button" disabled={failed.length === 0 || bulk.isPending} onClick={() => bulk.mutate({ action: 'retry', ids: failed.map((j) => j.id) })}>
          Retry all failed on this page ({failed.length})
        </button>
        <button type="button" className="secondary" disabled={active.length === 0 || bulk.isPending} onClick={() => bulk.mutate({ action: 'cancel', ids: active.map((j) => j.id) })}>
          Cancel all active on this page ({active.length})
        </button>
        {bulk.data && <BulkSummary results={bulk.data.results} />}
      </div>
      {page.error instanceof ApiError && <p role="alert" className="error">{page.error.message}</p>}
      {page.isPending ? (
        <p className="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="muted">No jobs match.</p>
      ) : (
        <JobTable rows={rows} />
      )}
      <nav className="pager" aria-label="Pages">
        {filters.cursor && <Link href={`/${writeFilters({ ...filters, cursor: undefined })}`}>Newest</Link>}
        {page.data?.next_cursor && <Link href={`/${writeFilters({ ...filters, cursor: page.data.next_cursor })}`}>Older →</Link>}
      </nav>
    </main>
  );
}

function Filters({ filters, onChange, admin }: { filters: HistoryFilters; onChange: (f: HistoryFilters) => void; admin: boolean }) {
  // Typed text and dates apply on Search, Enter or leaving the field, not per keystroke (a
  // year typed digit by digit would be a query per digit, and focus would jump).
  const [q, setQ] = useState(filters.q ?? '');
  const [from, setFrom] = useState(filters.from ?? '');
  const [to, setTo] = useState(filters.to ?? '');
  useEffect(() => setQ(filters.q ?? ''), [filters.q]);
  useEffect(() => setFrom(filters.from ?? ''), [filters.from]);
  useEffect(() => setTo(filters.to ?? ''), [filters.to]);
  const apply = () => {
    const next = { ...filters, q: q.trim() || undefined, from: from || undefined, to: to || undefined, cursor: undefined };
    if (next.q !== filters.q || next.from !== filters.from || next.to !== filters.to) onChange(next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onChange({ ...filters, q: q.trim() || undefined, from: from || undefined, to: to || undefined, cursor: undefined });
  };
  const one = <T,>(value: string) => (value ? [value as T] : []);
  return (
    <form className="filters" role="search" onSubmit={submit}>
      <label>
        Status
        <select value={filters.status.length === 1 ? filters.status[0] : ''} onChange={(e) => onChange({ ...filters, status: one(e.target.value), cursor: undefined })}>
          <option value="">Any</option>
          {STATUSES.map((s) => <option key={s} value={s}>{STATUS_NAMES[s]}</option>)}
        </select>
      </label>
      <label>
        Type
        <select value={filters.type.length === 1 ? filters.type[0] : ''} onChange={(e) => onChange({ ...filters, type: one(e.target.value), cursor: undefined })}>
          <option value="">Any</option>
          {TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </label>
      <label>
        From
        <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} onBlur={apply} />
      </label>
      <label>
        To
        <input type="date" value={to} onChange={(e) => setTo(e.target.value)} onBlur={apply} />
      </label>
      <label className="grow">
        Search
        <input type="search" placeholder="File name, error or job id" value={q} onChange={(e) => setQ(e.target.value)} />
      </label>
      {admin && (
        <label className="checkbox">
          <input type="checkbox" checked={filters.user === 'all'} onChange={(e) => onChange({ ...filters, user: e.target.checked ? 'all' : undefined, cursor: undefined })} />{' '}
          Every user
        </label>
      )}
      <button type="submit">Search</button>
    </form>
  );
}

function JobTable({ rows }: { rows: Job[] }) {
  return (
    <table className="jobs">
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Status</th>
          <th scope="col">Progress</th>
          <th scope="col">Created</th>
          <th scope="col"><span className="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>{rows.map((job) => <JobRow key={job.id} job={job} />)}</tbody>
    </table>
  );
}

function JobRow({ job }: { job: Job }) {
  const action = useJobAction();
  const title = jobTitle(job);
  return (
    <tr data-job-id={job.id}>
      <td>
        <Link href={`/jobs/${job.id}`}>{title}</Link>
        {job.error_message && <div className="error small">{job.error_message}</div>}
      </td>
      <td><StatusBadge job={job} /></td>
      <td><ProgressBar value={job.progress} label={`${title} progress`} status={job.status} /></td>
      <td className="small">{when(job.created_at)}</td>
      <td>
        {(job.status === 'failed' || job.status === 'cancelled') && (
          <button type="button" className="small" disabled={action.isPending} aria-label={`Retry ${title}`} onClick={() => action.mutate({ id: job.id, action: 'retry' })}>
            Retry
          </button>
        )}
        {!isFinal(job.status) && (
          <button type="button" className="secondary small" disabled={action.isPending} aria-label={`Cancel ${title}`} onClick={() => action.mutate({ id: job.id, action: 'cancel' })}>
            Cancel
          </button>
        )}
        {action.error instanceof ApiError && <div role="alert" className="error small">{action.error.message}</div>}
      </td>
    </tr>
  );
}

function BulkSummary({ results }: { results: { result: string }[] }) {
  const ok = results.filter((r) => r.result === 'ok').length;
  return (
    <span role="status" className="small">
      {ok} of {results.length} done{ok < results.length ? ` · ${results.length - ok} could not be changed` : ''}
    </span>
  );
}
