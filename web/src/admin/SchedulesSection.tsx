// Cron schedules that create jobs: list, add, remove.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, unwrap } from '../api/client';
import type { SubmittableType } from '../api/types';
import { when } from '../components/jobText';
import { TYPES } from '../history/filters';

export function SchedulesSection() {
  const client = useQueryClient();
  const schedules = useQuery({ queryKey: ['admin', 'schedules'], queryFn: () => unwrap(api.GET('/api/v2/schedules')) });
  const refresh = () => void client.invalidateQueries({ queryKey: ['admin', 'schedules'] });
  const add = useMutation({
    mutationFn: (body: { name: string; cron: string; job_type: SubmittableType; timezone?: string }) => unwrap(api.POST('/api/v2/schedules', { body })),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/v2/schedules/{schedule_id}', { params: { path: { schedule_id: id } } })),
    onSettled: refresh,
  });
  const [name, setName] = useState('');
  const [cron, setCron] = useState('0 * * * *');
  const [type, setType] = useState<SubmittableType>('validation');
  const [timezone, setTimezone] = useState('UTC');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ name: name.trim(), cron: cron.trim(), job_type: type, timezone: timezone.trim() || undefined }, { onSuccess: () => setName('') });
  };

  return (
    <section aria-labelledby="schedules-title">
      <h2 id="schedules-title">Schedules</h2>
      {schedules.data && schedules.data.length === 0 && <p className="muted">No schedules.</p>}
      {schedules.data && schedules.data.length > 0 && (
        <table className="jobs">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cron</th>
              <th scope="col">Creates</th>
              <th scope="col">Next run</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {schedules.data.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td><code>{s.cron}</code> <span className="muted small">{s.timezone}</span></td>
                <td>{s.job_type}</td>
                <td className="small">{when(s.next_run_at)}</td>
                <td>
                  <button type="button" className="secondary small" aria-label={`Remove schedule ${s.name}`} disabled={remove.isPending} onClick={() => remove.mutate(s.id)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="inline" onSubmit={submit} aria-label="Add a schedule">
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Cron
          <input required value={cron} onChange={(e) => setCron(e.target.value)} />
        </label>
        <label>
          Job type
          <select value={type} onChange={(e) => setType(e.target.value as SubmittableType)}>
            {TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
        <label>
          Time zone
          <input value={timezone} onChange={(e) => setTimezone(e.target.value)} />
        </label>
        <button type="submit" disabled={add.isPending}>Add schedule</button>
      </form>
      {(add.error ?? remove.error) instanceof ApiError && <p role="alert" className="error">{(add.error ?? remove.error)!.message}</p>}
    </section>
  );
}
