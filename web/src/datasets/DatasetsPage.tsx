// The user's datasets, newest first, a page at a time.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearch } from 'wouter';
import { api, ApiError, unwrap } from '../api/client';
import { when } from '../components/jobText';
import { bytes } from './format';

export function DatasetsPage() {
  const before = new URLSearchParams(useSearch()).get('before') ?? undefined;
  const page = useQuery({
    queryKey: ['datasets', 'list', before],
    queryFn: () => unwrap(api.GET('/api/v2/imports/datasets', { params: { query: { before, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <main className="page">
      <h1>Datasets</h1>
      {page.error instanceof ApiError && <p role="alert" className="error">{page.error.message}</p>}
      {page.data && page.data.items.length === 0 && (
        <p className="muted">
          No datasets yet. <Link href="/imports">Import a file</Link> to make one.
        </p>
      )}
      {page.data && page.data.items.length > 0 && (
        <table className="jobs">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Rows</th>
              <th scope="col">Size</th>
              <th scope="col">Imported</th>
            </tr>
          </thead>
          <tbody>
            {page.data.items.map((d) => (
              <tr key={d.id} data-dataset-id={d.id}>
                <td><Link href={`/datasets/${d.id}`}>{d.original_filename ?? d.name}</Link></td>
                <td>{d.row_count?.toLocaleString()}</td>
                <td>{d.size_bytes != null ? bytes(d.size_bytes) : ''}</td>
                <td className="small">{when(d.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        {before && <Link href="/datasets">Newest</Link>}
        {page.data?.next_before && <Link href={`/datasets?before=${page.data.next_before}`}>Older →</Link>}
      </nav>
    </main>
  );
}
