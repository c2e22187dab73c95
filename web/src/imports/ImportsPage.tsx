// Import a supplier's file: pick or drop it, watch the upload's bytes, then the import job's own
// progress and stage, pushed live; a failure says why and where.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState, type DragEvent } from 'react';
import { Link } from 'wouter';
import { api, ApiError, unwrap } from '../api/client';
import type { Job } from '../api/types';
import { eta } from '../components/jobText';
import { ProgressBar } from '../components/ProgressBar';
import { StatusBadge } from '../components/StatusBadge';
import { useBackgroundJobs } from '../live/BackgroundJobs';
import { SupplierPicker } from './SupplierPicker';
import { uploadFile } from './upload';

const ACCEPTED = '.csv,.tsv,.tab,.xlsx,.jsonl,.ndjson,.json';

interface Upload {
  id: number;
  file: File;
  sent: number;
  total: number;
  job?: Job;
  error?: ApiError;
}

export function ImportsPage() {
  const [supplier, setSupplier] = useState('');
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const nextId = useRef(1);
  const client = useQueryClient();

  const start = useCallback(
    (files: FileList | null) => {
      if (!files || !supplier) return;
      for (const file of Array.from(files)) {
        const id = nextId.current++;
        const update = (change: Partial<Upload>) => setUploads((all) => all.map((u) => (u.id === id ? { ...u, ...change } : u)));
        setUploads((all) => [{ id, file, sent: 0, total: file.size }, ...all]);
        uploadFile(supplier, file, (sent, total) => update({ sent, total })).then(
          (job) => {
            update({ job, sent: file.size });
            void client.invalidateQueries({ queryKey: ['history'] });
          },
          (error: ApiError) => update({ error }),
        );
      }
    },
    [supplier, client],
  );

  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    start(event.dataTransfer.files);
  };

  return (
    <main className="page">
      <h1>Import a file</h1>
      <SupplierPicker value={supplier} onChange={setSupplier} />
      <div
        className="dropzone"
        data-dragging={dragging}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
      >
        <p>Drop CSV, TSV, XLSX, JSON or JSON Lines files here, or</p>
        <label className="button-like">
          Choose files
          <input
            type="file"
            multiple
            accept={ACCEPTED}
            className="visually-hidden"
            disabled={!supplier}
            onChange={(e) => {
              start(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        {!supplier && <p className="muted small">Add a supplier first: each file belongs to one.</p>}
      </div>
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Your uploads">
          {uploads.map((upload) => <UploadRow key={upload.id} upload={upload} />)}
        </ul>
      )}
    </main>
  );
}

function UploadRow({ upload }: { upload: Upload }) {
  const pushed = useBackgroundJobs().latest(upload.job?.id ?? '');
  const job = pushed && upload.job && pushed.version >= upload.job.version ? pushed : upload.job;
  const name = upload.file.name;
  const datasets = useQuery({
    queryKey: ['datasets', 'first'],
    queryFn: () => unwrap(api.GET('/api/v2/imports/datasets', { params: { query: { limit: 20 } } })),
    enabled: job?.status === 'completed',
  });
  const dataset = datasets.data?.items.find((d) => d.import_job_id === job?.id);

  return (
    <li className="upload" data-job-id={job?.id}>
      <div className="active-job-head">
        <strong>{name}</strong>
        {job && <StatusBadge job={job} />}
      </div>
      {upload.error ? (
        <p role="alert" className="error">{upload.error.message}</p>
      ) : !job ? (
        <ProgressBar value={Math.floor((100 * upload.sent) / Math.max(1, upload.total))} label={`Upload of ${name}`} />
      ) : (
        <>
          <ProgressBar value={job.progress} label={`Import of ${name}`} status={job.status} />
          <p className="muted small">
            {job.status === 'pending' ? 'Uploaded; waiting for a worker' : job.stage}
            {job.status === 'running' && eta(job.eta_seconds) ? ` · ${eta(job.eta_seconds)}` : ''}
          </p>
          {job.status === 'failed' && <p role="alert" className="error">{job.error_message}</p>}
          {dataset && (
            <p>
              Dataset ready: <Link href={`/datasets/${dataset.id}`}>{dataset.original_filename ?? dataset.name}</Link>, {dataset.row_count?.toLocaleString()} rows
            </p>
          )}
          <Link href={`/jobs/${job.id}`} className="small">Job details</Link>
        </>
      )}
    </li>
  );
}
