import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError } from './api/client';
import { App } from './App';
import { sessionEnded } from './auth/session';
import './styles.css';

const queries: QueryClient = new QueryClient({
  // A read answered 401 means the session is over (expired, revoked): back to the login.
  queryCache: new QueryCache({
    onError: (error) => error instanceof ApiError && error.status === 401 && sessionEnded(queries),
  }),
  defaultOptions: {
    queries: {
      // A 4xx will not change by asking again; a lost connection or a 503 may.
      retry: (count, error) => count < 3 && !(error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429),
      staleTime: 5_000,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
