// After `vite build`: writes a brotli and a gzip copy beside each text file (the binary serves
// them as they are, never compressing per request), then prints what the first load costs and
// fails when its JavaScript passes the budget.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const out = process.env.JOBWATCH_WEB_OUT ?? 'dist';
const BUDGET_GZIP_BYTES = 200 * 1024;
const TEXT = /\.(html|js|css|svg|json|txt|map)$/;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

for (const path of files(out)) {
  if (!TEXT.test(path)) continue;
  const data = readFileSync(path);
  if (data.length < 512) continue;
  writeFileSync(`${path}.br`, brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }));
  writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
}

// What index.html loads before anything else: its scripts, preloads and style sheets.
const page = readFileSync(join(out, 'index.html'), 'utf8');
const initial = [...page.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let js = 0;
for (const asset of initial) {
  const gz = gzipSync(readFileSync(join(out, asset)), { level: 9 }).length;
  if (asset.endsWith('.js')) js += gz;
  console.log(`  ${asset}: ${(gz / 1024).toFixed(1)} KB gzipped`);
}
console.log(`initial JS: ${(js / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_GZIP_BYTES / 1024} KB)`);
if (js > BUDGET_GZIP_BYTES) {
  console.error('the initial JavaScript is over its budget');
  process.exit(1);
}
