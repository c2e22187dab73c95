import { useBackgroundJobs } from '../live/BackgroundJobs';

const TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' } as const;

/** Whether the page is being pushed changes, in words and a mark. */
export function LiveIndicator() {
  const { state } = useBackgroundJobs();
  return (
    <span className="live" data-state={state} role="status" aria-live="polite">
      <span aria-hidden="true">{state === 'live' ? '●' : '○'}</span> {TEXT[state]}
    </span>
  );
}
