// The user's email notifications (PATCH /api/v2/auth/me): off, failed jobs only, or every
// finished job, sent as one digest per burst (docs/notifications.md).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import type { EmailNotify as Email } from '../api/types';
const ME = ['me'] as const;
const CHOICES: { value: Email; label: string }[] = [
  { value: 'off', label: 'Email: off' },
  { value: 'failures', label: 'Email: failures' },
  { value: 'all', label: 'Email: every job' },
];

export function EmailSetting() {
  const client = useQueryClient();
  const me = useQuery({ queryKey: ME, queryFn: () => unwrap(api.GET('/api/v2/auth/me')) });
  const change = useMutation({
    mutationFn: (email: Email) => unwrap(api.PATCH('/api/v2/auth/me', { body: { notify: { email } } })),
    onSuccess: (updated) => client.setQueryData(ME, updated),
  });
  if (!me.data) return null;
  return (
    <select
      className="small"
      aria-label="Email me when my jobs finish"
      value={change.isPending && change.variables ? change.variables : me.data.notify.email}
      disabled={change.isPending}
      onChange={(e) => change.mutate(e.target.value as Email)}
    >
      {CHOICES.map((c) => (
        <option key={c.value} value={c.value}>
          {c.label}
        </option>
      ))}
    </select>
  );
}
