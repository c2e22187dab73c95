// For admins: the queue's depth, every user's jobs, cron schedules and new users.
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, ApiError, unwrap } from '../api/client';
import { STATUS_NAMES, when } from '../components/jobText';
import { SchedulesSection } from './SchedulesSection';
import { UsersSection } from './UsersSection';

export function AdminPage() {
  const queue = useQuery({
    queryKey: ['admin', 'queue'],
    queryFn: () => unwrap(api.GET('/api/v2/admin/queue')),
    // Every user's work, which the admin's own socket does not carry: a light poll.
    refetchInterval: 10_000,
  });
  return (
    <main className="page">
      <h1>Admin</h1>
      <section aria-labelledby="queue-title">
        <h2 id="queue-title">Queue</h2>
        {queue.error instanceof ApiError && <p role="alert" className="error">{queue.error.message}</p>}
        {queue.data && queue.data.length === 0 && <p className="muted">Nothing waits or runs.</p>}
        {queue.data && queue.data.length > 0 && (
          <table className="jobs">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Jobs</th>
                <th scope="col">Oldest created</th>
              </tr>
            </thead>
            <tbody>
              {queue.data.map((d) => (
                <tr key={`${d.job_type}-${d.status}`}>
                  <td>{d.job_type}</td>
                  <td>{STATUS_NAMES[d.status]}</td>
                  <td>{d.count.toLocaleString()}</td>
                  <td className="small">{when(d.oldest_created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p>
          <Link href="/?user=all">Every user’s jobs</Link> · <Link href="/?user=all&status=failed">every failed job</Link>
        </p>
      </section>
      <SchedulesSection />
      <UsersSection />
    </main>
  );
}
