// One dataset: its columns with their inferred types, the first rows, and exports whose
// progress is pushed until the file can be downloaded.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { api, ApiError, unwrap } from '../api/client';
import type { Job } from '../api/types';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useBackgroundJobs } from '../live/BackgroundJobs';
import { bytes } from './format';

const FORMATS = [
  { format: 'csv', label: 'CSV' },
  { format: 'xlsx', label: 'Excel (XLSX)' },
  { format: 'jsonl', label: 'JSON Lines' },
] as const;

export function DatasetPage({ id }: { id: string }) {
  const dataset = useQuery({
    queryKey: ['datasets', 'one', id],
    queryFn: () => unwrap(api.GET('/api/v2/imports/datasets/{dataset_id}', { params: { path: { dataset_id: id } } })),
  });
  const [exports, setExports] = useState<Job[]>([]);
  const start = useMutation({
    mutationFn: (format: (typeof FORMATS)[number]['format']) => unwrap(api.POST('/api/v2/exports', { body: { dataset_id: id, format } })),
    onSuccess: (job) => setExports((all) => [job, ...all]),
  });

  if (dataset.error instanceof ApiError) {
    return (
      <main className="page">
        <h1>Dataset not found</h1>
        <p role="alert">{dataset.error.status === 404 ? 'There is no such dataset among yours.' : dataset.error.message}</p>
        <Link href="/datasets">All datasets</Link>
      </main>
    );
  }
  const d = dataset.data;
  if (!d) return <main className="page"><p className="muted">Loading…</p></main>;
  const columns = d.columns;
  const rows = d.preview ?? [];

  return (
    <main className="page">
      <p><Link href="/datasets">← All datasets</Link></p>
      <h1>{d.original_filename ?? d.name}</h1>
      <p className="muted">
        {d.row_count?.toLocaleString()} rows · {columns.length} columns
        {d.size_bytes != null && ` · ${bytes(d.size_bytes)}`}
        {d.format && ` · ${d.format.toUpperCase()}`}
        {d.read_as.sheet && ` · sheet “${d.read_as.sheet}”`}
        {d.read_as.delimiter && ` · delimiter ${d.read_as.delimiter}`}
        {d.read_as.encoding && d.read_as.encoding !== 'utf-8' && ` · ${d.read_as.encoding}`}
      </p>
      {d.warnings.length > 0 && (
        <ul className="warnings" aria-label="Changes made while reading">
          {d.warnings.map((w) => <li key={w.kind}>{w.message}</li>)}
        </ul>
      )}
      <section aria-labelledby="export-title">
        <h2 id="export-title">Export</h2>
        <div className="toolbar">
          {FORMATS.map(({ format, label }) => (
            <button key={format} type="button" className="secondary" disabled={start.isPending} onClick={() => start.mutate(format)}>
              Export as {label}
            </button>
          ))}
        </div>
        {start.error instanceof ApiError && <p role="alert" className="error">{start.error.message}</p>}
        {exports.length > 0 && <ul className="uploads" aria-label="Your exports">{exports.map((job) => <ExportRow key={job.id} started={job} />)}</ul>}
      </section>
      <h2>First rows</h2>
      <div className="scroll" tabIndex={0} role="region" aria-label="First rows of the dataset">
        <table className="preview">
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={i} scope="col">
                  {c.name}
                  <span className="column-type">{c.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              <tr key={r}>{row.map((cell, c) => <td key={c}>{cell}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}

function ExportRow({ started }: { started: Job }) {
  const pushed = useBackgroundJobs().latest(started.id);
  const job = pushed && pushed.version >= started.version ? pushed : started;
  const format = String((job.metadata as Record<string, unknown>)?.format ?? '').toUpperCase();
  return (
    <li className="upload" data-job-id={job.id}>
      <div className="active-job-head">
        <strong>{format} export</strong>
        <StatusBadge job={job} />
      </div>
      <ProgressBar value={job.progress} label={`${format} export progress`} status={job.status} />
      {job.stage && <p className="muted small">{job.stage}</p>}
      {job.status === 'failed' && <p role="alert" className="error">{job.error_message}</p>}
      {job.status === 'completed' && <a href={`/api/v2/exports/${job.id}/download`} download>Download the {format} file</a>}
    </li>
  );
}
