// Choose one of the user's suppliers, or create one on the spot.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, unwrap } from '../api/client';

export function SupplierPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const client = useQueryClient();
  const suppliers = useQuery({ queryKey: ['suppliers'], queryFn: () => unwrap(api.GET('/api/v2/imports/suppliers')) });
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: (name: string) => unwrap(api.POST('/api/v2/imports/suppliers', { body: { name } })),
    onSuccess: (supplier) => {
      void client.invalidateQueries({ queryKey: ['suppliers'] });
      setName('');
      onChange(supplier.id);
    },
  });
  const list = suppliers.data ?? [];
  const first = suppliers.data?.[0]?.id;
  useEffect(() => {
    if (!value && first) onChange(first);
  }, [value, first, onChange]);

  const add = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate(name.trim());
  };
  return (
    <fieldset className="suppliers">
      <legend>Supplier</legend>
      {list.length > 0 && (
        <label>
          Supplier
          <select value={value} onChange={(e) => onChange(e.target.value)}>
            {list.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
          </select>
        </label>
      )}
      <form className="inline" onSubmit={add}>
        <label>
          New supplier
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} placeholder="Acme Ltd" />
        </label>
        <button type="submit" className="secondary" disabled={!name.trim() || create.isPending}>Add supplier</button>
      </form>
      {create.error instanceof ApiError && <p role="alert" className="error small">{create.error.message}</p>}
    </fieldset>
  );
}
