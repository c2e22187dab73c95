// What the page's components read of the live channel: the board's jobs, the connection's
// state and the toasts, behind one subscribe() for React's useSyncExternalStore.
import type { Job } from '../api/types';
import type { LiveState } from './connection';
import { JobBoard } from './jobBoard';

export interface Toast {
  key: number;
  job: Job;
}

export interface LiveView {
  jobs: Job[];
  state: LiveState;
  toasts: Toast[];
}

export class LiveStore {
  readonly board = new JobBoard();
  private view: LiveView = { jobs: [], state: 'connecting', toasts: [] };
  private listeners = new Set<() => void>();
  private finishedListeners = new Set<(job: Job) => void>();
  private nextToast = 1;

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };
  getView = () => this.view;

  /** Called for each job seen finishing (toasts, notifications, refreshing lists). */
  onFinished(listener: (job: Job) => void) {
    this.finishedListeners.add(listener);
    return () => void this.finishedListeners.delete(listener);
  }

  snapshot(jobs: Job[]) {
    this.finished(this.board.snapshot(jobs));
  }
  polled(jobs: Job[]) {
    this.finished(this.board.poll(jobs));
  }
  job(job: Job) {
    const { changed, finished } = this.board.apply(job);
    if (finished) this.finished([job]);
    else if (changed) this.publish({});
  }
  state(state: LiveState) {
    this.publish({ state });
  }
  prune(now: number) {
    if (this.board.prune(now)) this.publish({});
  }
  dismiss(key: number) {
    this.publish({ toasts: this.view.toasts.filter((t) => t.key !== key) });
  }

  private finished(jobs: Job[]) {
    const toasts = [...this.view.toasts, ...jobs.map((job) => ({ key: this.nextToast++, job }))].slice(-5);
    this.publish({ toasts });
    for (const job of jobs) for (const listener of this.finishedListeners) listener(job);
  }
  private publish(change: Partial<LiveView>) {
    this.view = { ...this.view, jobs: this.board.list(), ...change };
    for (const listener of this.listeners) listener();
  }
}
