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
import { uploadFile, type ReadingFields } from './upload';

const ACCEPTED = '.csv,.txt,.tsv,.tab,.xlsx,.jsonl,.ndjson,.json';

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
  const [reading, setReading] = useState<ReadingFields>({});
  const nextId = useRef(1);
  const client = useQueryClient();

  const start = useCallback(
    (files: FileList | null) => {
      if (!files || !supplier) return;
      for (const file of Array.from(files)) {
        const id = nextId.current++;
        const update = (change: Partial<Upload>) => setUploads((all) => all.map((u) => (u.id === id ? { ...u, ...change } : u)));
        setUploads((all) => [{ id, file, sent: 0, total: file.size }, ...all]);
        uploadFile(supplier, file, (sent, total) => update({ sent, total }), undefined, reading).then(
          (job) => {
            update({ job, sent: file.size });
            void client.invalidateQueries({ queryKey: ['history'] });
          },
          (error: ApiError) => update({ error }),
        );
      }
    },
    [supplier, client, reading],
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
      <ReadingOptions value={reading} onChange={setReading} />
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Your uploads">
          {uploads.map((upload) => <UploadRow key={upload.id} upload={upload} />)}
        </ul>
      )}
    </main>
  );
}

/** The upload's reading fields, for files the defaults misread; closed until needed. */
function ReadingOptions({ value, onChange }: { value: ReadingFields; onChange: (v: ReadingFields) => void }) {
  const set = (name: keyof ReadingFields) => (e: { target: { value: string } }) => onChange({ ...value, [name]: e.target.value });
  return (
    <details className="reading-options">
      <summary>Reading options</summary>
      <p className="muted small">For files the defaults misread; they apply to the next files you add.</p>
      <div className="filters">
        <label>
          Sheet (XLSX)
          <input value={value.sheet ?? ''} onChange={set('sheet')} placeholder="first with values" />
        </label>
        <label>
          Delimiter (CSV)
          <select value={value.delimiter ?? ''} onChange={set('delimiter')}>
            <option value="">Detect</option>
            <option value=",">Comma ,</option>
            <option value=";">Semicolon ;</option>
            <option value="tab">Tab</option>
            <option value="|">Pipe |</option>
            <option value="whitespace">Aligned columns (spaces)</option>
          </select>
        </label>
        <label>
          Encoding (text)
          <select value={value.encoding ?? ''} onChange={set('encoding')}>
            <option value="">UTF-8 / UTF-16</option>
            <option value="windows-1252">Windows-1252 (Western Europe)</option>
            <option value="iso-8859-15">ISO-8859-15</option>
            <option value="windows-1250">Windows-1250 (Central Europe)</option>
            <option value="shift_jis">Shift JIS</option>
          </select>
        </label>
        <label>
          Rows of another width
          <select value={value.ragged ?? ''} onChange={set('ragged')}>
            <option value="">Pad short rows</option>
            <option value="trim">Pad, and drop extra cells</option>
            <option value="strict">Refuse</option>
          </select>
        </label>
      </div>
    </details>
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
