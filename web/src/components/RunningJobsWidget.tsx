// The header's "N running": opens a panel of the user's active jobs with live progress.
import { useEffect, useId, useRef, useState } from 'react';
import { Link } from 'wouter';
import { isFinal, type Job } from '../api/types';
import { useBackgroundJobs } from '../live/BackgroundJobs';
import { eta, jobTitle } from './jobText';
import { ProgressBar } from './ProgressBar';
import { StatusBadge } from './StatusBadge';
import { useJobAction } from './useJobActions';

export function RunningJobsWidget() {
  const { running, waiting, jobs } = useBackgroundJobs();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: KeyboardEvent | MouseEvent) => {
      if (event instanceof KeyboardEvent) {
        if (event.key !== 'Escape') return;
        setOpen(false);
        button.current?.focus();
      } else if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', close);
    document.addEventListener('mousedown', close);
    return () => {
      document.removeEventListener('keydown', close);
      document.removeEventListener('mousedown', close);
    };
  }, [open]);

  return (
    <div className="widget" ref={root}>
      <button ref={button} type="button" className="widget-button" aria-expanded={open} aria-controls={panelId} onClick={() => setOpen(!open)}>
        <span className="widget-count">{running.length} running</span>
        {waiting.length > 0 && <span className="widget-waiting">, {waiting.length} waiting</span>}
      </button>
      {open && (
        <section id={panelId} className="widget-panel" aria-label="Your active jobs">
          {jobs.length === 0 ? <p className="muted">No active jobs.</p> : <ul>{jobs.map((job) => <ActiveJob key={job.id} job={job} />)}</ul>}
          <Link href="/" onClick={() => setOpen(false)}>
            All jobs
          </Link>
        </section>
      )}
    </div>
  );
}

function ActiveJob({ job }: { job: Job }) {
  const action = useJobAction();
  const title = jobTitle(job);
  const left = job.status === 'running' ? eta(job.eta_seconds) : undefined;
  return (
    <li className="active-job" data-job-id={job.id}>
      <div className="active-job-head">
        <Link href={`/jobs/${job.id}`}>{title}</Link>
        <StatusBadge job={job} />
      </div>
      <ProgressBar value={job.progress} label={`${title} progress`} status={job.status} />
      {(job.stage || left) && (
        <p className="muted small">
          {job.stage}
          {job.stage && left ? ' · ' : ''}
          {left}
        </p>
      )}
      {job.status === 'failed' && job.error_message && <p className="error small">{job.error_message}</p>}
      {!isFinal(job.status) && (
        <button
          type="button"
          className="secondary small"
          disabled={action.isPending || job.cancel_requested_at != null}
          onClick={() => action.mutate({ id: job.id, action: 'cancel' })}
          aria-label={`Cancel ${title}`}
        >
          {job.cancel_requested_at ? 'Stopping…' : 'Cancel'}
        </button>
      )}
    </li>
  );
}
