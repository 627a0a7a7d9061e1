import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { POD_DIR, linkNodeModules } from './pod-dir.js';
import { close, listen, sendProblem } from './http.js';
import { unauthorized, type PodIdentity } from './identity.js';

export { POD_DIR };
const SCAFFOLD_DIR = path.join(POD_DIR, 'preview');
const BRIDGE_ID = '/@storydream/preview-bridge';

export interface PreviewOptions {
  workspaceDir: string;
  host: string;
  port: number;
  base: string;
  allowedHosts: true | string[] | undefined;
  cacheDir?: string | undefined;
  /** Only the gateway, which sends the pod secret, may reach the preview. */
  identity: PodIdentity;
}

export interface Preview {
  port: number;
  server: ViteDevServer;
  close(): Promise<void>;
}

/**
 * Starts Vite with the workspace as its root, so modules keep their workspace paths (`/src/App.tsx`) in the
 * browser, in errors and in HMR. index.html and the error bridge are served from the pod's scaffolding, and
 * the workspace reaches the preinstalled packages through a `node_modules` symlink outside the synced roots.
 */
export async function startPreview(options: PreviewOptions): Promise<Preview> {
  await linkNodeModules(options.workspaceDir);
  const html = withStaticBase(await fs.readFile(path.join(SCAFFOLD_DIR, 'index.html'), 'utf8'), options.base);
  const bridge = await fs.readFile(path.join(SCAFFOLD_DIR, 'preview-bridge.js'), 'utf8');
  const cacheDir =
    options.cacheDir ??
    path.join(os.tmpdir(), `storydream-vite-${createHash('sha256').update(options.workspaceDir).digest('hex').slice(0, 16)}`);

  // Middleware mode on our own HTTP server: Vite's standalone server would install its own SIGTERM and stdin-end
  // handlers that exit the process, and the pod owns its shutdown.
  const httpServer = http.createServer();
  const server = await createServer({
    configFile: false,
    envDir: false,
    root: options.workspaceDir,
    base: options.base,
    cacheDir,
    appType: 'spa',
    clearScreen: false,
    logLevel: 'warn',
    // Uploaded assets (issue 17): staticFile('logo.png') reaches public/logo.png under the preview's base.
    publicDir: path.join(options.workspaceDir, 'public'),
    plugins: [react(), scaffold(html, bridge)],
    server: {
      middlewareMode: true,
      hmr: { server: httpServer },
      allowedHosts: options.allowedHosts,
      // The preview serves the composition, not the agent's transcripts or uploads in flight.
      fs: {
        strict: true,
        allow: [options.workspaceDir, POD_DIR],
        deny: ['.env', '.env.*', '*.{crt,pem}', '**/.git/**', '**/.claude/**', '**/.storydream-staging/**'],
      },
      watch: { ignored: ['**/.storydream-staging/**', '**/.claude/**'] },
    },
    optimizeDeps: {
      entries: ['src/main.tsx'],
      include: ['react', 'react-dom', 'react-dom/client', 'react/jsx-runtime', 'react/jsx-dev-runtime', 'remotion', '@remotion/player'],
    },
  });
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (options.identity.authorized(req)) server.middlewares(req, res);
    else sendProblem(res, unauthorized(), true);
  });
  refuseUnauthorizedUpgrades(httpServer, options.identity);
  const port = await listen(httpServer, options.port, options.host);
  return {
    port,
    server,
    close: async () => {
      await server.close();
      await close(httpServer);
    },
  };
}

/**
 * Remotion's `staticFile()` prefixes `window.remotion_staticBase`, as its own studio sets it; the preview lives under a
 * per-session base, so without it `staticFile('logo.png')` would ask the gateway's root for `/logo.png`.
 */
export function withStaticBase(html: string, base: string): string {
  const staticBase = base.replace(/\/+$/, '');
  if (staticBase === '') return html;
  return html.replace('<div id="root"></div>', `<script>window.remotion_staticBase = ${JSON.stringify(staticBase).replace(/</g, '\\u003c')};</script>\n    <div id="root"></div>`);
}

/**
 * Vite adds its own `upgrade` listener for HMR to the server; a listener of ours beside it could not stop it. So the
 * event is checked before any listener sees it, and a socket without the pod secret is answered 401 and closed.
 */
function refuseUnauthorizedUpgrades(server: http.Server, identity: PodIdentity): void {
  const emit = server.emit.bind(server);
  server.emit = ((event: string, ...args: unknown[]): boolean => {
    if (event === 'upgrade' && !identity.authorized(args[0] as http.IncomingMessage)) {
      (args[1] as import('node:stream').Duplex).end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    return emit(event, ...args);
  }) as typeof server.emit;
}

function scaffold(html: string, bridge: string): Plugin {
  return {
    name: 'storydream-scaffold',
    resolveId(id) {
      return id === BRIDGE_ID ? `\0${BRIDGE_ID}` : null;
    },
    load(id) {
      return id === `\0${BRIDGE_ID}` ? bridge : null;
    },
    configureServer(server) {
      // Returned, so it runs after Vite has stripped the base and made every page request `/index.html`.
      return () => {
        server.middlewares.use((req, res, next) => {
          if (req.url?.split('?')[0] !== '/index.html') {
            next();
            return;
          }
          server
            .transformIndexHtml(req.url, html, req.originalUrl)
            .then((page) => {
              res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
              res.end(page);
            })
            .catch(next);
        });
      };
    },
  };
}
