// The user's active jobs as the page knows them: a snapshot replaces the set, a pushed change
// counts only if it is newer (a higher version) than what the page holds, and a job that
// reaches a final state is reported once, for the toast.
import { isFinal, type Job } from '../api/types';

/** How long a finished job stays in the panel: as long as `GET /jobs/active` keeps it. */
export const FINISHED_SHOWN_MS = 5 * 60 * 1000;

export class JobBoard {
  private jobs = new Map<string, Job>();

  /** Replaces the set (socket snapshot). Returns the jobs seen finishing. */
  snapshot(jobs: Job[]): Job[] {
    const finished = jobs.filter((job) => this.finishes(job));
    this.jobs = new Map(jobs.map((job) => [job.id, job]));
    return finished;
  }

  /** Replaces the set with a polled `/jobs/active`, keeping any job the page knows in a newer
   *  version (a pushed change that overtook the poll). Returns the jobs seen finishing. */
  poll(jobs: Job[]): Job[] {
    const next = new Map<string, Job>();
    const finished: Job[] = [];
    for (const job of jobs) {
      const known = this.jobs.get(job.id);
      if (known && known.version > job.version) next.set(job.id, known);
      else {
        if (this.finishes(job)) finished.push(job);
        next.set(job.id, job);
      }
    }
    this.jobs = next;
    return finished;
  }

  /** One pushed change. Returns whether it changed what the page shows. */
  apply(job: Job): { changed: boolean; finished: boolean } {
    const known = this.jobs.get(job.id);
    const newer = !known || job.version > known.version || (job.version === known.version && job.stalled !== known.stalled);
    if (!newer) return { changed: false, finished: false };
    const finished = this.finishes(job);
    this.jobs.set(job.id, job);
    return { changed: true, finished };
  }

  /** Forgets finished jobs older than the active list keeps them. */
  prune(now: number): boolean {
    let pruned = false;
    for (const [id, job] of this.jobs) {
      if (isFinal(job.status) && job.completed_at && now - Date.parse(job.completed_at) > FINISHED_SHOWN_MS) {
        this.jobs.delete(id);
        pruned = true;
      }
    }
    return pruned;
  }

  /** Newest first, as the service orders them. */
  list(): Job[] {
    return [...this.jobs.values()].sort(
      (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id.localeCompare(a.id),
    );
  }

  /** A job the page knew unfinished that is now final. */
  private finishes(job: Job): boolean {
    const known = this.jobs.get(job.id);
    return isFinal(job.status) && known !== undefined && !isFinal(known.status);
  }
}
