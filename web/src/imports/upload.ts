// An upload with its byte progress (fetch cannot report it yet; XMLHttpRequest can), sent with
// the session cookie, answered as the API's other calls are.
import { ApiError } from '../api/client';
import type { Job } from '../api/types';

/** How the service should read the file (empty values are left out: the service's defaults). */
export interface ReadingFields {
  sheet?: string;
  delimiter?: string;
  encoding?: string;
  ragged?: string;
}

export function uploadFile(
  supplierId: string,
  file: File,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
  reading: ReadingFields = {},
): Promise<Job> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v2/imports/files/upload');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => {
      const body = xhr.response as { error?: { code?: string; message?: string } } | Job | null;
      if (xhr.status === 202) return resolve(body as Job);
      const detail = (body as { error?: { code?: string; message?: string } } | null)?.error;
      reject(new ApiError(xhr.status, detail?.code ?? 'http_error', detail?.message ?? `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload was interrupted: the service cannot be reached.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'The upload was stopped.'));
    signal?.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    // The service reads the supplier and the reading fields before the file: they come first.
    form.append('supplier_id', supplierId);
    for (const [name, value] of Object.entries(reading)) {
      if (value?.trim()) form.append(name, value);
    }
    form.append('file', file);
    xhr.send(form);
  });
}
