import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/** The server the dev server proxies to (`npm run dev -w web` beside `npm start`). */
const target = process.env.ROOMCAST_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: {
      // The protocol module is plain TypeScript with one browser-safe dependency:
      // bundle it from source so the web build does not need the server's build.
      '@roomcast/server/protocol': fileURLToPath(new URL('../server/src/protocol.ts', import.meta.url)),
    },
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: true },
      '/ws': { target, ws: true, changeOrigin: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
