import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `npm run dev`: the studio with HMR on Vite's port; the API, the runtime config and path-mode previews go to the gateway
// the app host runs (STORYDREAM_GATEWAY, by default the app host's default port).
const gateway = process.env.STORYDREAM_GATEWAY ?? 'http://localhost:5100';

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: gateway, ws: true, changeOrigin: false },
      '/config.json': { target: gateway },
      '/preview': { target: gateway, ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
