// A toast when one of the user's jobs finishes or fails; a browser notification as well once the
// user has opted in and the page is in the background.
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'wouter';
import type { Job } from '../api/types';
import { useBackgroundJobs, useJobFinished } from '../live/BackgroundJobs';
import { jobTitle, STATUS_NAMES } from './jobText';

const OPT_IN = 'jobwatch.notify';

export function Toasts() {
  const { toasts, dismissToast } = useBackgroundJobs();
  const oldest = toasts[0]?.key;
  useEffect(() => {
    if (oldest === undefined) return;
    const timer = setTimeout(() => dismissToast(oldest), 8_000);
    return () => clearTimeout(timer);
  }, [oldest, dismissToast]);

  const notify = useCallback((job: Job) => {
    if (localStorage.getItem(OPT_IN) !== 'yes' || !('Notification' in window) || Notification.permission !== 'granted') return;
    if (document.visibilityState === 'visible') return;
    new Notification(`${jobTitle(job)}: ${STATUS_NAMES[job.status].toLowerCase()}`, { body: job.error_message ?? undefined, tag: job.id });
  }, []);
  useJobFinished(notify);

  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map(({ key, job }) => (
        <div key={key} className="toast" data-status={job.status}>
          <Link href={`/jobs/${job.id}`}>{jobTitle(job)}</Link> {job.status === 'failed' ? 'failed' : STATUS_NAMES[job.status].toLowerCase()}
          {job.error_message && <span className="small">: {job.error_message}</span>}
          <button type="button" className="link" aria-label="Dismiss" onClick={() => dismissToast(key)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/** Opt in to browser notifications (asked only when the user presses it). */
export function NotifyToggle() {
  const supported = typeof window !== 'undefined' && 'Notification' in window;
  const [on, setOn] = useState(() => supported && localStorage.getItem(OPT_IN) === 'yes' && Notification.permission === 'granted');
  if (!supported) return null;
  const toggle = async () => {
    if (on) {
      localStorage.removeItem(OPT_IN);
      setOn(false);
      return;
    }
    const permission = await Notification.requestPermission();
    if (permission === 'granted') {
      localStorage.setItem(OPT_IN, 'yes');
      setOn(true);
    }
  };
  return (
    <button type="button" className="secondary small" aria-pressed={on} onClick={() => void toggle()}>
      {on ? 'Notifications on' : 'Notify me'}
    </button>
  );
}
