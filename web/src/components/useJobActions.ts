// Cancel and retry, one job or many; what the page shows next comes from the live channel
// and from refreshing the lists that hold the jobs.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';

export function useJobAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: 'cancel' | 'retry' }) =>
      action === 'cancel'
        ? unwrap(api.POST('/api/v2/jobs/{job_id}/cancel', { params: { path: { job_id: id } } }))
        : unwrap(api.POST('/api/v2/jobs/{job_id}/retry', { params: { path: { job_id: id } } })),
    onSettled: (_data, _error, { id }) => {
      void client.invalidateQueries({ queryKey: ['history'] });
      void client.invalidateQueries({ queryKey: ['job', id] });
    },
  });
}

export function useBulkAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { action: 'cancel' | 'retry'; ids: string[] }) => unwrap(api.POST('/api/v2/jobs/bulk', { body })),
    onSettled: () => void client.invalidateQueries({ queryKey: ['history'] }),
  });
}
