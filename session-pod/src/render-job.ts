import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { POD_DIR } from './pod-dir.js';

/** The render mode's own packages (`render/`), kept out of the preview's install so a session pod never loads them. */
export const RENDER_PACKAGES_DIR = path.join(POD_DIR, 'render');

/** Work files of the render mode in the workspace: outside the synced roots, never listed or synced. */
export const RENDER_DIR = '.storydream-render';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'render-worker.js');

export type RenderKind = 'video' | 'still';
export type RenderState = 'idle' | 'bundling' | 'rendering' | 'complete' | 'failed' | 'canceled';

export interface RenderRequest {
  kind: RenderKind;
  composition: string | undefined;
  codec: 'h264';
  crf: number | undefined;
  frame: number;
  /** The snapshot the workspace was hydrated with: it fixes the code, so its bundle can be shared by every render of it. */
  snapshotId: string | undefined;
}

/** What `GET /render` answers: the one job of this pod. `updatedAt` moves whenever the renderer reports. */
export interface RenderStatus {
  state: RenderState;
  kind?: RenderKind;
  progress: number;
  renderedFrames: number;
  encodedFrames: number;
  updatedAt: number;
  composition?: { id: string; width: number; height: number; fps: number; durationInFrames: number };
  size?: number;
  contentType?: string;
  error?: string;
}

// The slice of Remotion's API used here, typed locally: the packages live in render/, not in the pod's own install.
interface VideoConfig { id: string; width: number; height: number; fps: number; durationInFrames: number }
interface Renderer {
  openBrowser(browser: 'chrome', options: { browserExecutable: string; chromiumOptions?: Record<string, unknown> }): Promise<{ close(options: { silent: boolean }): Promise<void> }>;
  selectComposition(options: Record<string, unknown>): Promise<VideoConfig>;
  renderMedia(options: Record<string, unknown>): Promise<unknown>;
  renderStill(options: Record<string, unknown>): Promise<unknown>;
  makeCancelSignal(): { cancelSignal: unknown; cancel: () => void };
}
interface Bundler {
  bundle(options: Record<string, unknown>): Promise<string>;
}

export interface RenderOptions {
  workspaceDir: string;
  browserExecutable: string;
  concurrency: number;
  /**
   * The render's cache (`RENDER_CACHE_DIR`): bundles by snapshot id in `bundles/`, so the export and the thumbnail of one
   * snapshot bundle once. Whoever starts the pod decides who shares it; without the variable it is the pod's own, in its
   * workspace.
   */
  cacheDir: string;
  log: (line: string) => void;
}

/**
 * One render per pod, as the platform starts a pod per export. The render runs in a child process
 * (`render-worker.js`): the bundler and Remotion keep a thread busy for seconds at a time, and the pod must go on answering
 * `GET /render` meanwhile, or the platform would take a busy pod for a stale one. The child reports every change; a
 * child that dies without finishing leaves the render failed with its exit status.
 */
export class RenderJob {
  status: RenderStatus = { state: 'idle', progress: 0, renderedFrames: 0, encodedFrames: 0, updatedAt: Date.now() };
  private child: ChildProcess | undefined;

  constructor(private readonly options: RenderOptions) {}

  get outputPath(): string {
    return outputPath(this.options.workspaceDir, this.status.kind ?? 'video');
  }

  /**
   * Starts the renderer process ahead of the request, so it loads Remotion and opens the browser while the platform
   * hydrates the pod (about a second of the export that would otherwise come after it). Called again, it does nothing
   * while that process lives.
   */
  prepare(): void {
    if (this.child !== undefined) return;
    const child = fork(WORKER, [], {
      env: { ...process.env, RENDER_OPTIONS: JSON.stringify({ ...this.options, log: undefined }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its own process group, so chromium and ffmpeg go with it when it is killed.
      detached: true,
    });
    this.child = child;
    process.once('exit', () => killGroup(child));
    child.on('message', (change: Partial<RenderStatus>) => this.update(change));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.status.state === 'bundling' || this.status.state === 'rendering') {
        this.update({ state: 'failed', error: `the renderer exited (${signal ?? `code ${code}`}) before it finished` });
      }
    });
  }

  start(request: RenderRequest): void {
    this.update({ state: 'bundling', kind: request.kind });
    // A renderer that died while the pod waited (it should not) is started again.
    this.prepare();
    this.child?.send({ type: 'render', request });
  }

  stop(): void {
    if (this.status.state === 'complete' || this.status.state === 'failed') return;
    const idle = this.status.state === 'idle';
    this.update({ state: 'canceled' });
    const child = this.child;
    if (child === undefined) return;
    // A renderer that was only waiting for the request has nothing to cancel.
    if (idle) {
      killGroup(child);
      return;
    }
    child.send({ type: 'cancel' });
    setTimeout(() => killGroup(child), 2_000).unref();
  }

  private update(change: Partial<RenderStatus>): void {
    if (this.status.state === 'canceled') return;
    this.status = { ...this.status, ...change, updatedAt: Date.now() };
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function outputPath(workspaceDir: string, kind: RenderKind): string {
  return path.join(workspaceDir, RENDER_DIR, kind === 'still' ? 'out.png' : 'out.mp4');
}

/** What the renderer process loads before any request: Remotion's bundler and renderer, and an open browser. */
export interface PreparedRenderer {
  bundle: Bundler['bundle'];
  renderer: Renderer;
  /** Settled when the browser is open; awaited by the render, so a browser that failed to start fails it. */
  browser: Promise<{ close(options: { silent: boolean }): Promise<void> }>;
}

/** Runs in the child as soon as it starts: the packages load and the browser opens while the pod waits for its files. */
export async function prepareRenderer(options: Pick<RenderOptions, 'browserExecutable'>): Promise<PreparedRenderer> {
  const require = createRequire(path.join(RENDER_PACKAGES_DIR, 'package.json'));
  const renderer = (await import(require.resolve('@remotion/renderer'))) as Renderer;
  const browser = renderer.openBrowser('chrome', { browserExecutable: options.browserExecutable });
  // Its failure is the render's to report, once a render asks for the browser.
  browser.catch(() => undefined);
  const { bundle } = (await import(require.resolve('@remotion/bundler'))) as Bundler;
  return { bundle, renderer, browser };
}

/** Runs in the child: bundles (or finds the snapshot's bundle), selects the composition and renders, reporting through `report`. */
export async function runRender(request: RenderRequest, prepared: PreparedRenderer, options: Omit<RenderOptions, 'log'>,
  report: (change: Partial<RenderStatus>) => void, onCancel: (cancel: () => void) => void): Promise<void> {
  const { bundle, renderer } = prepared;
  const workDir = path.join(options.workspaceDir, RENDER_DIR);
  await fs.mkdir(workDir, { recursive: true });
  const entryPoint = path.join(workDir, 'entry.tsx');
  await fs.writeFile(entryPoint, entrySource(options.workspaceDir));
  const output = outputPath(options.workspaceDir, request.kind);

  // The browser opened while the pod was hydrated; Rspack bundles now, unless the snapshot's bundle is there.
  const times: string[] = [];
  let mark = performance.now();
  const took = (what: string): void => {
    const now = performance.now();
    times.push(`${what} ${Math.round(now - mark)} ms`);
    mark = now;
  };
  let serveUrl: string;
  try {
    serveUrl = await bundleOnce(bundle, entryPoint, options, request.snapshotId, () => report({}));
  } catch (error) {
    await prepared.browser.then((b) => b.close({ silent: true })).catch(() => undefined);
    throw error;
  }
  took('bundle');
  const browser = await prepared.browser;
  took('browser');
  try {
    const composition = await renderer.selectComposition({
      serveUrl,
      id: request.composition ?? DEFAULT_COMPOSITION,
      puppeteerInstance: browser,
      browserExecutable: options.browserExecutable,
      logLevel: 'error',
    });
    const { id, width, height, fps, durationInFrames } = composition;
    took('select');
    report({ state: 'rendering', composition: { id, width, height, fps, durationInFrames } });
    const { cancelSignal, cancel } = renderer.makeCancelSignal();
    onCancel(cancel);
    if (request.kind === 'still') {
      await renderer.renderStill({
        composition,
        serveUrl,
        output,
        frame: Math.min(request.frame, durationInFrames - 1),
        imageFormat: 'png',
        puppeteerInstance: browser,
        browserExecutable: options.browserExecutable,
        cancelSignal,
        overwrite: true,
        logLevel: 'error',
      });
    } else {
      await renderer.renderMedia({
        composition,
        serveUrl,
        codec: request.codec,
        crf: request.crf,
        outputLocation: output,
        puppeteerInstance: browser,
        browserExecutable: options.browserExecutable,
        concurrency: options.concurrency,
        cancelSignal,
        overwrite: true,
        logLevel: 'error',
        onProgress: (p: { progress: number; renderedFrames: number; encodedFrames: number }) =>
          // 100 only once the file is whole: the renderer reports 1 just before it finishes writing.
          report({ progress: Math.min(99, Math.floor(p.progress * 100)), renderedFrames: p.renderedFrames, encodedFrames: p.encodedFrames }),
      });
    }
    took(request.kind);
    // Where a render's time goes, for whoever reads the pod's log.
    process.stderr.write(`render: ${request.kind} of ${id} done: ${times.join(', ')}\n`);
    const { size } = await fs.stat(output);
    report({ state: 'complete', progress: 100, size, contentType: request.kind === 'still' ? 'image/png' : 'video/mp4' });
  } finally {
    await browser.close({ silent: true }).catch(() => undefined);
  }
}

const SNAPSHOT_ID = /^[0-9a-f]{64}$/;

/** Bundles kept in the cache; older ones are removed (one is about 30 MB). */
const KEPT_BUNDLES = 16;

/**
 * The bundle of the workspace, taken from the cache when a render of the same snapshot made it already. Remotion bundles
 * with Rspack (its `rspack` option; Webpack took 14 s here cold and 5 s with its persistent cache warm, Rspack about 2 s
 * and keeps no cache). A new bundle is written beside its final name and renamed into place, so a reader never sees half
 * of one. Remotion's root is the render packages' folder, not the working directory.
 */
async function bundleOnce(bundle: Bundler['bundle'], entryPoint: string, options: Omit<RenderOptions, 'log'>, snapshotId: string | undefined,
  onProgress: () => void): Promise<string> {
  const workDir = path.dirname(entryPoint);
  const args = {
    entryPoint,
    rootDir: RENDER_PACKAGES_DIR,
    publicDir: path.join(options.workspaceDir, 'public'),
    rspack: true,
    onProgress,
  };
  if (snapshotId === undefined || !SNAPSHOT_ID.test(snapshotId)) {
    return bundle({ ...args, outDir: path.join(workDir, 'bundle') });
  }
  const bundles = path.join(options.cacheDir, 'bundles');
  const cached = path.join(bundles, snapshotId);
  if (existsSync(path.join(cached, 'index.html'))) {
    const now = new Date();
    await fs.utimes(cached, now, now).catch(() => undefined);
    return cached;
  }
  await fs.mkdir(bundles, { recursive: true });
  const partial = `${cached}.${process.pid}.partial`;
  try {
    await bundle({ ...args, outDir: partial });
  } catch (error) {
    await fs.rm(partial, { recursive: true, force: true });
    throw error;
  }
  try {
    await fs.rename(partial, cached);
  } catch {
    // Another pod renamed its bundle of the same snapshot into place first: the same files.
    await fs.rm(partial, { recursive: true, force: true });
  }
  await pruneBundles(bundles);
  return cached;
}

async function pruneBundles(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const bundles = await Promise.all(entries.filter((e) => e.isDirectory() && SNAPSHOT_ID.test(e.name))
    .map(async (e) => ({ name: e.name, mtime: (await fs.stat(path.join(dir, e.name))).mtimeMs })));
  bundles.sort((a, b) => b.mtime - a.mtime);
  // A render still reading a removed bundle has its files open or loaded in the browser already.
  await Promise.all(bundles.slice(KEPT_BUNDLES).map((b) => fs.rm(path.join(dir, b.name), { recursive: true, force: true })));
}

/** The template's composition id, rendered when the request names none. */
export const DEFAULT_COMPOSITION = 'MyVideo';

/**
 * The bundle's entry. A project with the Remotion convention's `src/Root.tsx` (exporting `RemotionRoot`) registers its
 * own compositions; otherwise the template's layout is assumed: `MyVideo` sized by `myVideoConfig`, both exported by
 * `src/compositions/MyVideo.tsx`. A project that has neither fails to compile, and the bundler's message says why.
 */
export function entrySource(workspaceDir: string): string {
  if (existsSync(path.join(workspaceDir, 'src', 'Root.tsx'))) {
    return "import { registerRoot } from 'remotion';\nimport { RemotionRoot } from '../src/Root';\n\nregisterRoot(RemotionRoot);\n";
  }
  return [
    "import React from 'react';",
    "import { Composition, registerRoot } from 'remotion';",
    "import { MyVideo, myVideoConfig } from '../src/compositions/MyVideo';",
    '',
    `const Root = () => <Composition id="${DEFAULT_COMPOSITION}" component={MyVideo} {...myVideoConfig} />;`,
    '',
    'registerRoot(Root);',
    '',
  ].join('\n');
}
