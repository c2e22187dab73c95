// A real `jobwatch serve` on a temporary SQLite database, for the browser tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN = { email: 'admin@localhost', password: 'e2e-admin-password' };
export const PASSWORD = 'e2e-user-password';

async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export class Server {
  static async start(bin) {
    const server = new Server(bin, mkdtempSync(join(tmpdir(), 'jobwatch-e2e-')), await freePort());
    await server.up();
    return server;
  }

  constructor(bin, dir, port) {
    this.bin = bin;
    this.dir = dir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.log = [];
  }

  /** Starts the process and waits until it answers. */
  async up() {
    this.child = spawn(this.bin, ['serve'], {
      env: {
        ...process.env,
        JOBWATCH_DATA_DIR: this.dir,
        JOBWATCH_BIND: `127.0.0.1:${this.port}`,
        JOBWATCH_ADMIN_PASSWORD: ADMIN.password,
        JOBWATCH_SHUTDOWN_GRACE: '1s',
        JOBWATCH_POLL_INTERVAL: '200ms',
        RUST_LOG: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) stream.on('data', (d) => this.log.push(String(d)));
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${this.url}/readyz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`jobwatch did not start:\n${this.log.join('')}`);
  }

  /** SIGTERM, as a deploy would: running jobs are handed back, sockets closed with 1001. */
  async stop() {
    this.child.kill('SIGTERM');
    await this.exited;
  }

  async dispose() {
    if (this.child.exitCode === null) await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Calls the API as `token` (a bearer token), failing on an error status. */
  async api(method, path, token, body) {
    const res = await fetch(`${this.url}/api/v2${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async token(email, password) {
    return (await this.api('POST', '/auth/login', null, { email, password })).access_token;
  }

  /** A new user, and a bearer token of theirs for arranging jobs. */
  async user(email) {
    const admin = await this.token(ADMIN.email, ADMIN.password);
    await this.api('POST', '/users', admin, { email, password: PASSWORD });
    return { email, token: await this.token(email, PASSWORD) };
  }

  /** A built-in `processing` job: `steps` steps of `stepMs` ms, failing at `failAt` if given. */
  async processing(user, { steps, stepMs, failAt, label }) {
    const metadata = { steps, step_ms: stepMs, filename: label };
    if (failAt !== undefined) Object.assign(metadata, { fail_at: failAt, fail: 'permanent' });
    return this.api('POST', '/jobs', user.token, { job_type: 'processing', metadata, max_retries: 0 });
  }

  async job(user, id) {
    return this.api('GET', `/jobs/${id}`, user.token);
  }

  /** Waits until the job satisfies `test`. */
  async until(user, id, test, what) {
    for (let i = 0; i < 300; i++) {
      const job = await this.job(user, id);
      if (test(job)) return job;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${id} never became ${what}`);
  }
}
