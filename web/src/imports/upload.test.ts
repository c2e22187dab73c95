import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { uploadFile } from './upload';

/** An XMLHttpRequest the test answers by hand. */
class FakeXhr {
  static last: FakeXhr;
  upload: { onprogress?: (e: { loaded: number; total: number; lengthComputable: boolean }) => void } = {};
  onload?: () => void;
  onerror?: () => void;
  onabort?: () => void;
  status = 0;
  response: unknown = null;
  responseType = '';
  sent?: FormData;
  opened?: [string, string];
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.opened = [method, url];
  }
  send(body: FormData) {
    this.sent = body;
  }
  abort() {
    this.onabort?.();
  }
  answer(status: number, response: unknown) {
    this.status = status;
    this.response = response;
    this.onload?.();
  }
}

describe('an upload', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('reports its bytes, sends the supplier before the file, and resolves with the job', async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const progress: [number, number][] = [];
    const file = new File(['a,b\n1,2\n'], 'prices.csv', { type: 'text/csv' });
    const done = uploadFile('supplier-1', file, (sent, total) => progress.push([sent, total]));
    const xhr = FakeXhr.last;
    expect(xhr.opened).toEqual(['POST', '/api/v2/imports/files/upload']);
    expect([...xhr.sent!.keys()]).toEqual(['supplier_id', 'file']);
    xhr.upload.onprogress?.({ loaded: 4, total: 8, lengthComputable: true });
    xhr.upload.onprogress?.({ loaded: 8, total: 8, lengthComputable: true });
    xhr.answer(202, { id: 'job-1', status: 'running' });
    await expect(done).resolves.toEqual({ id: 'job-1', status: 'running' });
    expect(progress).toEqual([
      [4, 8],
      [8, 8],
    ]);
  });

  it('sends the reading fields that are set, before the file', () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const file = new File(['a;b\n'], 'prices.csv');
    void uploadFile('s', file, () => {}, undefined, { delimiter: ';', encoding: ' ', ragged: 'trim' });
    const sent = FakeXhr.last.sent!;
    expect([...sent.keys()]).toEqual(['supplier_id', 'delimiter', 'ragged', 'file']);
    expect(sent.get('delimiter')).toBe(';');
  });

  it('turns the service’s error into an ApiError with its code', async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const done = uploadFile('s', new File(['x'], 'a.exe'), () => {});
    FakeXhr.last.answer(415, { error: { code: 'unsupported_file_type', message: 'not a file type jobwatch reads' } });
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 415, code: 'unsupported_file_type', message: 'not a file type jobwatch reads' });
  });

  it('says the connection was lost when the network fails', async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const done = uploadFile('s', new File(['x'], 'a.csv'), () => {});
    FakeXhr.last.onerror?.();
    await expect(done).rejects.toMatchObject({ status: 0, code: 'network' });
  });
});
