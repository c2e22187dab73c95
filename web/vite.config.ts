/// <reference types="vitest/config" />
// The page's build (web/dist, embedded in the binary) and its unit tests (vitest, jsdom).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.JOBWATCH_WEB_OUT ?? 'dist',
    emptyOutDir: true,
    // One small app: a single chunk loads faster than a waterfall of them.
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` beside `make run`: the API and its socket are proxied to the service.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
