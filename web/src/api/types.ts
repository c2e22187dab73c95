// Short names for the generated schema's types the page uses.
import type { components } from './schema';

type Schemas = components['schemas'];
export type Job = Schemas['JobResponse'];
export type JobStatus = Job['status'];
export type User = Schemas['User'];
export type LiveMessage = Schemas['LiveMessage'];

export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
export const isFinal = (status: JobStatus) => FINAL_STATUSES.includes(status);
