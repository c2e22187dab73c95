// The browser's session (an HttpOnly cookie the page never sees): who is logged in, log in,
// log out.
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import type { User } from '../api/types';

const SESSION = ['session'] as const;

/** The logged-in user, null when logged out, undefined while asking. */
export function useSession() {
  return useQuery({
    queryKey: SESSION,
    queryFn: async () => (await unwrap(api.GET('/api/v2/auth/session'))).user ?? null,
    staleTime: Infinity,
  });
}

export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => unwrap(api.POST('/api/v2/auth/session', { body })),
    onSuccess: (session) => client.setQueryData<User | null>(SESSION, session.user),
  });
}

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v2/auth/session')),
    onSettled: () => sessionEnded(client),
  });
}

/** Forgets everything the page held for the user, and shows the login. */
export function sessionEnded(client: QueryClient) {
  client.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' });
  client.setQueryData<User | null>(SESSION, null);
}
