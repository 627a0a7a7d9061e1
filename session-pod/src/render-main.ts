import { ConfigError, podCredentials, port, type Env } from './config.js';
import { createFilesServer } from './files-server.js';
import { close, listen } from './http.js';
import { PodIdentity } from './identity.js';
import { linkNodeModules } from './pod-dir.js';
import { RENDER_DIR, RENDER_PACKAGES_DIR, RenderJob } from './render-job.js';
import { createRenderServer } from './render-server.js';
import { Workspace } from './workspace.js';
import path from 'node:path';

/**
 * The render mode (`STORYDREAM_MODE=render`): the same image as a session, without preview or agent. It serves the
 * file API (`:3002`, hydrated by the sync worker like a session) and the render API (`:3003`), renders once, and
 * waits for the platform to fetch the file and delete the pod. Like a session pod it holds only its own pod secret:
 * every route but `/health` wants it, and `/health?challenge=` proves the pod is the render's.
 */
export async function runRenderMode(log: (line: string) => void, env: Env = process.env): Promise<void> {
  const workspaceDir = env.WORKSPACE_DIR;
  if (workspaceDir === undefined || workspaceDir.trim() === '') throw new ConfigError('WORKSPACE_DIR must name the render workspace directory');
  const { sessionId, podSecret } = podCredentials(env);
  const identity = new PodIdentity(sessionId, podSecret);
  // The renderer's child process inherits the environment; it needs no secret.
  delete env.STORYDREAM_POD_SECRET;
  const host = env.BIND_HOST?.trim() || '127.0.0.1';
  const concurrency = Number(env.RENDER_CONCURRENCY || '1');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`RENDER_CONCURRENCY must be a positive integer, got '${env.RENDER_CONCURRENCY}'`);
  const workspace = new Workspace(path.resolve(workspaceDir), { maxFileBytes: 50 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024, maxEntries: 100_000 });
  await workspace.prepare();
  await linkNodeModules(workspace.dir, path.join(RENDER_PACKAGES_DIR, 'node_modules'));

  const job = new RenderJob({
    workspaceDir: workspace.dir,
    // Debian's chromium through a wrapper that keeps it from looking up Google's hosts (no network in a render pod).
    browserExecutable: env.RENDER_BROWSER || path.join(RENDER_PACKAGES_DIR, 'chromium.sh'),
    concurrency,
    cacheDir: path.resolve(env.RENDER_CACHE_DIR?.trim() || path.join(workspace.dir, RENDER_DIR, 'cache')),
    log,
  });
  job.prepare();
  const files = createFilesServer(workspace, identity, log);
  const render = createRenderServer(job, identity, log);
  const filesPort = await listen(files, port(env, 'FILES_PORT', 3002), host);
  const renderPort = await listen(render, port(env, 'RENDER_PORT', 3003), host);
  process.stdout.write(`READY files=${filesPort} render=${renderPort}\n`);

  const shutdown = (signal: string): void => {
    log(`render-pod: ${signal}, shutting down`);
    job.stop();
    const force = setTimeout(() => process.exit(1), 5_000);
    force.unref();
    void Promise.allSettled([close(files), close(render)]).then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
