// One job: its state, pushed while it is active, and its timeline (created, attempts, errors,
// who retried or cancelled it, finished).
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, ApiError, unwrap } from '../api/client';
import { isFinal } from '../api/types';
import { eta, jobTitle, when } from '../components/jobText';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useJobAction } from '../components/useJobActions';
import { useBackgroundJobs } from '../live/BackgroundJobs';

const EVENTS: Record<string, string> = {
  created: 'Created',
  started: 'Started',
  retrying: 'Attempt failed, will run again',
  stopping: 'Asked to stop',
  retried: 'Retried',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function JobPage({ id }: { id: string }) {
  const fetched = useQuery({
    queryKey: ['job', id],
    queryFn: () => unwrap(api.GET('/api/v2/jobs/{job_id}', { params: { path: { job_id: id } } })),
  });
  const timeline = useQuery({
    queryKey: ['job', id, 'timeline'],
    queryFn: () => unwrap(api.GET('/api/v2/jobs/{job_id}/timeline', { params: { path: { job_id: id } } })),
  });
  const pushed = useBackgroundJobs().latest(id);
  const job = pushed && (!fetched.data || pushed.version > fetched.data.version) ? pushed : fetched.data;
  const action = useJobAction();

  if (fetched.error instanceof ApiError) {
    return (
      <main className="page">
        <h1>Job not found</h1>
        <p role="alert">{fetched.error.status === 404 ? 'There is no such job among yours.' : fetched.error.message}</p>
        <Link href="/">All jobs</Link>
      </main>
    );
  }
  if (!job) return <main className="page"><p className="muted">Loading…</p></main>;
  const title = jobTitle(job);

  return (
    <main className="page">
      <p><Link href="/">← All jobs</Link></p>
      <h1>{title}</h1>
      <div className="job-summary">
        <StatusBadge job={job} />
        <ProgressBar value={job.progress} label={`${title} progress`} status={job.status} />
        {job.stage && <p className="muted">{job.stage}</p>}
        {job.status === 'running' && eta(job.eta_seconds) && <p className="muted">{eta(job.eta_seconds)}</p>}
        {job.error_message && <p className="error">{job.error_message}</p>}
        <dl className="facts">
          <dt>Id</dt><dd><code>{job.id}</code></dd>
          <dt>Attempt</dt><dd>{job.attempt} of {job.max_retries + 1}</dd>
          <dt>Created</dt><dd>{when(job.created_at)}</dd>
          {job.started_at && <><dt>Started</dt><dd>{when(job.started_at)}</dd></>}
          {job.completed_at && <><dt>Finished</dt><dd>{when(job.completed_at)}</dd></>}
        </dl>
        <div className="toolbar">
          {(job.status === 'failed' || job.status === 'cancelled') && (
            <button type="button" disabled={action.isPending} onClick={() => action.mutate({ id, action: 'retry' })}>Retry</button>
          )}
          {!isFinal(job.status) && (
            <button type="button" className="secondary" disabled={action.isPending} onClick={() => action.mutate({ id, action: 'cancel' })}>Cancel</button>
          )}
          {job.type === 'export' && job.status === 'completed' && <a href={`/api/v2/exports/${id}/download`}>Download</a>}
        </div>
      </div>
      <h2>Timeline</h2>
      {timeline.data ? (
        <ol className="timeline">
          {timeline.data.map((entry, i) => (
            <li key={i}>
              <time dateTime={entry.at}>{when(entry.at)}</time> <strong>{EVENTS[entry.event] ?? entry.event}</strong>
              {entry.attempt != null && <span className="muted"> · attempt {entry.attempt}</span>}
              {entry.actor && <span> · by {entry.actor.email}</span>}
              {entry.bulk && <span className="muted"> (bulk)</span>}
              {entry.message && <div className="error small">{entry.message}</div>}
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </main>
  );
}
