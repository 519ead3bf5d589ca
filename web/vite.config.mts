/**
 * The web console builds into web/dist, which the API server serves (src/graphql/web-console.ts):
 * hashed file names under /assets/ so they can be cached for a year, index.html never cached.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
  },
  // `vite` (dev) proxies the API to a running `kfashion serve`.
  server: {
    proxy: Object.fromEntries(
      ['/graphql', '/uploads', '/images', '/garments', '/health'].map((route) => [
        route,
        process.env.KFASHION_API ?? 'http://localhost:4000',
      ]),
    ),
  },
});
