import type { RenderOptions, RenderRequest, RenderStatus } from './render-job.js';
import { prepareRenderer, runRender } from './render-job.js';

// The child process of a RenderJob, started with the pod: it loads Remotion and opens the browser at once, then runs the
// one render the parent sends, reporting its changes to the parent over IPC.

// The parent (the pod) died, killed perhaps: take the browser and ffmpeg down too rather than render for nobody. A pod
// killed as it started this process may be gone before the listener is there, hence the check after it.
process.on('disconnect', () => process.kill(-process.pid, 'SIGKILL'));
if (!process.connected) process.kill(-process.pid, 'SIGKILL');

const options = JSON.parse(process.env.RENDER_OPTIONS ?? '{}') as Omit<RenderOptions, 'log'>;
const startedAt = performance.now();
const prepared = prepareRenderer(options);
prepared.catch(() => undefined);
// For the operator (and ExportBench, which waits for it): a warm pod is ready to render once this is logged.
void prepared.then((p) => p.browser).then(
  () => process.stderr.write(`render: renderer ready ${Math.round(performance.now() - startedAt)} ms after start (Remotion loaded, browser open)\n`),
  () => undefined);
const report = (change: Partial<RenderStatus>): void => void process.send?.(change);
let cancel: (() => void) | undefined;
let canceled = false;
let started = false;

process.on('message', (message: { type?: string; request?: RenderRequest }) => {
  if (message.type === 'render' && message.request !== undefined && !started) {
    started = true;
    void render(message.request);
  } else if (message.type === 'cancel') {
    // Sent only after the render (a renderer still waiting for its request is killed by the pod instead).
    canceled = true;
    cancel?.();
  }
});

async function render(request: RenderRequest): Promise<void> {
  try {
    await runRender(request, await prepared, options, report, (c) => {
      cancel = c;
      if (canceled) c();
    });
    process.exit(0);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`render: failed: ${error instanceof Error ? error.stack : message}\n`);
    process.send?.({ state: canceled ? 'canceled' : 'failed', error: message }, () => process.exit(1));
  }
}
