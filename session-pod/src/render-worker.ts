import type { RenderOptions, RenderRequest, RenderStatus } from './render-job.js';
import { runRender } from './render-job.js';

// The child process of a RenderJob: one render, its changes sent to the parent over IPC.
const { request, options } = JSON.parse(process.env.RENDER_JOB ?? '{}') as { request: RenderRequest; options: Omit<RenderOptions, 'log'> };
const report = (change: Partial<RenderStatus>): void => void process.send?.(change);
let cancel: (() => void) | undefined;
let canceled = false;
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'cancel') return;
  canceled = true;
  cancel?.();
});

// The parent (the pod) died, killed perhaps: take the browser and ffmpeg down too rather than render for nobody.
process.on('disconnect', () => process.kill(-process.pid, 'SIGKILL'));

runRender(request, options, report, (c) => {
  cancel = c;
  if (canceled) c();
})
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`render: failed: ${error instanceof Error ? error.stack : message}\n`);
    process.send?.({ state: canceled ? 'canceled' : 'failed', error: message }, () => process.exit(1));
  });
