import { describe, expect, it } from 'vitest';
import type { Job, JobStatus } from '../api/types';
import { FINISHED_SHOWN_MS, JobBoard } from './jobBoard';

const job = (id: string, version: number, status: JobStatus = 'running', extra: Partial<Job> = {}): Job =>
  ({ id, version, status, progress: version, created_at: `2026-12-02T10:00:0${id.length}Z`, stalled: false, ...extra }) as Job;

describe('the job board', () => {
  it('keeps the highest version of each job, whatever order changes arrive in', () => {
    const board = new JobBoard();
    board.snapshot([job('a', 2)]);
    expect(board.apply(job('a', 4)).changed).toBe(true);
    expect(board.apply(job('a', 3)).changed).toBe(false);
    expect(board.apply(job('a', 4)).changed).toBe(false);
    expect(board.list()[0]!.version).toBe(4);
  });

  it('takes the same version again only when its stalled mark flipped', () => {
    const board = new JobBoard();
    board.snapshot([job('a', 2)]);
    expect(board.apply(job('a', 2, 'running', { stalled: true })).changed).toBe(true);
    expect(board.list()[0]!.stalled).toBe(true);
  });

  it('reports a job finishing once, not when first seen finished', () => {
    const board = new JobBoard();
    board.snapshot([job('a', 1), job('bb', 5, 'completed')]);
    expect(board.apply(job('a', 2, 'failed')).finished).toBe(true);
    expect(board.apply(job('a', 3, 'failed')).finished).toBe(false);
    expect(board.apply(job('ccc', 1, 'completed')).finished).toBe(false);
  });

  it('a snapshot replaces the set and reports what finished while away', () => {
    const board = new JobBoard();
    board.snapshot([job('a', 1), job('bb', 1)]);
    const finished = board.snapshot([job('a', 9, 'completed')]);
    expect(finished.map((j) => j.id)).toEqual(['a']);
    expect(board.list().map((j) => j.id)).toEqual(['a']);
  });

  it('a poll never takes a job back to an older version', () => {
    const board = new JobBoard();
    board.snapshot([]);
    board.apply(job('a', 7));
    board.poll([job('a', 5), job('bb', 1)]);
    expect(board.list().map((j) => [j.id, j.version])).toEqual([
      ['bb', 1],
      ['a', 7],
    ]);
  });

  it('lists newest first and forgets finished jobs after five minutes', () => {
    const board = new JobBoard();
    const done = new Date(Date.parse('2026-12-02T10:00:00Z')).toISOString();
    board.snapshot([job('a', 1), job('bbb', 1), job('cc', 1, 'completed', { completed_at: done })]);
    expect(board.list().map((j) => j.id)).toEqual(['bbb', 'cc', 'a']);
    expect(board.prune(Date.parse(done) + FINISHED_SHOWN_MS - 1)).toBe(false);
    expect(board.prune(Date.parse(done) + FINISHED_SHOWN_MS + 1)).toBe(true);
    expect(board.list().map((j) => j.id)).toEqual(['bbb', 'a']);
  });
});
