// Add a user (the API has no user list yet).
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, unwrap } from '../api/client';

export function UsersSection() {
  const add = useMutation({
    mutationFn: (body: { email: string; password: string; is_admin: boolean }) => unwrap(api.POST('/api/v2/users', { body })),
  });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ email: email.trim(), password, is_admin: admin }, { onSuccess: () => (setEmail(''), setPassword(''), setAdmin(false)) });
  };
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <form className="inline" onSubmit={submit} aria-label="Add a user">
        <label>
          Email
          <input type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> Admin
        </label>
        <button type="submit" disabled={add.isPending}>Add user</button>
      </form>
      {add.data && <p role="status">Added {add.data.email}{add.data.is_admin ? ', an admin' : ''}.</p>}
      {add.error instanceof ApiError && <p role="alert" className="error">{add.error.message}</p>}
    </section>
  );
}
