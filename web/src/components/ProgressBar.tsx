import type { Job } from '../api/types';

/** A job's progress: a real progressbar for assistive technology, with the number written out. */
export function ProgressBar({ value, label, status }: { value: number; label: string; status?: Job['status'] }) {
  return (
    <div className="progress" data-status={status}>
      <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value} className="progress-track">
        <div className="progress-fill" style={{ width: `${value}%` }} />
      </div>
      <span className="progress-number">{value} %</span>
    </div>
  );
}
