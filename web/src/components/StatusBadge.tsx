import type { Job } from '../api/types';
import { STATUS_NAMES } from './jobText';

const MARKS: Record<Job['status'], string> = { pending: '○', running: '◐', completed: '✓', failed: '✕', cancelled: '⊘' };

/** The status in words with a mark, so colour is never the only signal. */
export function StatusBadge({ job }: { job: Job }) {
  return (
    <span className="badge" data-status={job.status}>
      <span aria-hidden="true">{MARKS[job.status]}</span> {STATUS_NAMES[job.status]}
      {job.stalled && job.status === 'running' && <span className="stalled"> · stalled</span>}
    </span>
  );
}
