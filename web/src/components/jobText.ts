// How a job is named and described in words (never by colour alone).
import type { Job } from '../api/types';

const TYPE_NAMES: Record<Job['type'], string> = {
  import: 'Import',
  export: 'Export',
  validation: 'Validation',
  processing: 'Processing',
  email: 'Email',
  webhook: 'Webhook',
};

export function jobTitle(job: Job): string {
  const metadata = (job.metadata ?? {}) as Record<string, unknown>;
  const file = typeof metadata.filename === 'string' ? metadata.filename : undefined;
  const format = typeof metadata.format === 'string' ? metadata.format.toUpperCase() : undefined;
  const what = file ?? (format ? `${format} file` : undefined);
  return what ? `${TYPE_NAMES[job.type]} ${what}` : TYPE_NAMES[job.type];
}

export const STATUS_NAMES: Record<Job['status'], string> = {
  pending: 'Waiting',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function eta(seconds: number | null | undefined): string | undefined {
  if (seconds === null || seconds === undefined) return undefined;
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
