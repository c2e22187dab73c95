// One live channel per logged-in page, shared by every component through useBackgroundJobs().
// Mounted only while logged in: logging out unmounts it, which closes the socket and stops
// every timer.
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { api, unwrap } from '../api/client';
import type { Job } from '../api/types';
import { sessionEnded } from '../auth/session';
import { connect } from './connection';
import { LiveStore, type LiveView } from './liveStore';

const LiveContext = createContext<LiveStore | null>(null);

export function BackgroundJobsProvider({ children }: { children: ReactNode }) {
  const [store] = useState(() => new LiveStore());
  const client = useQueryClient();

  useEffect(() => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const connection = connect({
      url: `${scheme}://${location.host}/api/v2/jobs/ws`,
      poll: () => unwrap(api.GET('/api/v2/jobs/active')),
      onSnapshot: (jobs) => store.snapshot(jobs),
      onJob: (job) => store.job(job),
      onPolled: (jobs) => store.polled(jobs),
      onState: (state) => store.state(state),
      onSessionEnded: () => sessionEnded(client),
    });
    const pruning = setInterval(() => store.prune(Date.now()), 15_000);
    const unfinished = store.onFinished((job) => {
      // Lists showing the job refresh; the socket keeps only the active ones.
      void client.invalidateQueries({ queryKey: ['history'] });
      void client.invalidateQueries({ queryKey: ['job', job.id] });
      void client.invalidateQueries({ queryKey: ['datasets'] });
    });
    return () => {
      connection.stop();
      clearInterval(pruning);
      unfinished();
    };
  }, [store, client]);

  return <LiveContext.Provider value={store}>{children}</LiveContext.Provider>;
}

function useLiveStore(): LiveStore {
  const store = useContext(LiveContext);
  if (!store) throw new Error('useBackgroundJobs needs a BackgroundJobsProvider above it');
  return store;
}

export interface BackgroundJobs extends LiveView {
  running: Job[];
  waiting: Job[];
  dismissToast: (key: number) => void;
  /** The newest version the page holds of a job, if it is active. */
  latest: (id: string) => Job | undefined;
}

/** The user's active jobs, pushed as they change: running, waiting and recently finished. */
export function useBackgroundJobs(): BackgroundJobs {
  const store = useLiveStore();
  const view = useSyncExternalStore(store.subscribe, store.getView);
  const dismissToast = useCallback((key: number) => store.dismiss(key), [store]);
  return {
    ...view,
    running: view.jobs.filter((job) => job.status === 'running'),
    waiting: view.jobs.filter((job) => job.status === 'pending'),
    dismissToast,
    latest: (id) => view.jobs.find((job) => job.id === id),
  };
}

/** Calls `listener` for each of the user's jobs seen finishing. */
export function useJobFinished(listener: (job: Job) => void) {
  const store = useLiveStore();
  useEffect(() => store.onFinished(listener), [store, listener]);
}
