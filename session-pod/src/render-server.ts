import { createReadStream } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { PodError, badRequest } from './errors.js';
import { readJson, sendJson, sendProblem } from './http.js';
import { unauthorized, type PodIdentity } from './identity.js';
import type { RenderJob, RenderRequest } from './render-job.js';

const COMPOSITION_ID = /^[A-Za-z0-9\u00C0-\u024F-]{1,100}$/;

/**
 * The render mode's `:3003`: `POST /render` starts the pod's one render, `GET /render` reports it (the platform's
 * worker polls this), `GET /render/output` streams the finished file, `POST /render/cancel` stops it.
 */
export function createRenderServer(job: RenderJob, identity: PodIdentity, log: (line: string) => void = () => undefined): http.Server {
  return http.createServer((req, res) => {
    handle(job, identity, req, res).catch((error: unknown) => {
      if (error instanceof PodError) {
        if (!res.headersSent) sendProblem(res, error, error.status === 401);
        else res.destroy();
        return;
      }
      log(`render: ${req.method} ${req.url} failed: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) sendProblem(res, new PodError(500, 'internal', 'Internal error', (error as Error).message), true);
      else res.destroy();
    });
  });
}

async function handle(job: RenderJob, identity: PodIdentity, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://pod');
  if (`${req.method} ${url.pathname}` === 'GET /health') {
    sendJson(res, 200, identity.health(url, { mode: 'render' }));
    return;
  }
  if (!identity.authorized(req)) throw unauthorized();
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /render':
      sendJson(res, 200, job.status);
      return;
    case 'POST /render': {
      const request = parseRequest(await readJson(req));
      if (job.status.state !== 'idle') throw new PodError(409, 'render-started', 'Render already started', 'this pod renders once; start another pod');
      job.start(request);
      sendJson(res, 202, job.status);
      return;
    }
    case 'POST /render/cancel':
      job.stop();
      sendJson(res, 200, job.status);
      return;
    case 'GET /render/output': {
      if (job.status.state !== 'complete') throw new PodError(409, 'not-complete', 'Render not complete', `the render is ${job.status.state}`);
      res.writeHead(200, { 'content-type': job.status.contentType ?? 'application/octet-stream', 'content-length': job.status.size ?? 0 });
      await pipeline(createReadStream(job.outputPath), res);
      return;
    }
  }
  throw new PodError(404, 'not-found', 'Not found', `no route ${req.method} ${url.pathname}`);
}

export function parseRequest(body: unknown): RenderRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  const { kind = 'video', composition, codec = 'h264', crf, frame = 0, snapshotId } = body as Record<string, unknown>;
  if (kind !== 'video' && kind !== 'still') throw badRequest("kind must be 'video' or 'still'");
  if (composition !== undefined && composition !== null && (typeof composition !== 'string' || !COMPOSITION_ID.test(composition))) {
    throw badRequest('composition must be a composition id (letters, digits and dashes)');
  }
  if (codec !== 'h264') throw badRequest("codec must be 'h264'");
  if (crf !== undefined && crf !== null && (typeof crf !== 'number' || !Number.isInteger(crf) || crf < 1 || crf > 51)) {
    throw badRequest('crf must be an integer from 1 to 51');
  }
  if (typeof frame !== 'number' || !Number.isInteger(frame) || frame < 0) throw badRequest('frame must be a non-negative integer');
  if (snapshotId !== undefined && snapshotId !== null && (typeof snapshotId !== 'string' || !/^[0-9a-f]{64}$/.test(snapshotId))) {
    throw badRequest('snapshotId must be a snapshot id (64 lower-case hex digits)');
  }
  return { kind, composition: (composition as string | null) ?? undefined, codec, crf: (crf as number | null) ?? undefined, frame,
    snapshotId: (snapshotId as string | null) ?? undefined };
}
