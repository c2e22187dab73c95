// Short names for the generated schema's types the page uses.
import type { components } from './schema';

type Schemas = components['schemas'];
export type Job = Schemas['JobResponse'];
export type JobStatus = Job['status'];
/** The types a user or a schedule may create (email and webhook jobs are jobwatch's own). */
export type SubmittableType = Schemas['CreateJobRequest']['job_type'];
export type User = Schemas['User'];
export type LiveMessage = Schemas['LiveMessage'];
export type EmailNotify = Schemas['EmailNotify'];

export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
export const isFinal = (status: JobStatus) => FINAL_STATUSES.includes(status);
