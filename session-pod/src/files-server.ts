import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { PodError } from './errors.js';
import { unauthorized, type PodIdentity } from './identity.js';
import { readJson, sendJson, sendProblem } from './http.js';
import type { Workspace } from './workspace.js';

/**
 * The `:3002` file API of DESIGN section 5; the sync worker is its only intended caller. Every route but `/health`
 * (the kubelet's probe, which names the session and proves it on challenge) needs the pod secret.
 */
export function createFilesServer(workspace: Workspace, identity: PodIdentity, log: (line: string) => void = () => undefined): http.Server {
  return http.createServer((req, res) => {
    handle(workspace, identity, log, req, res).catch((error: unknown) => {
      if (error instanceof PodError) {
        if (!res.headersSent) sendProblem(res, error, req.method === 'PUT' || error.status === 401);
        else res.destroy();
        return;
      }
      log(`files: ${req.method} ${req.url} failed: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) sendProblem(res, new PodError(500, 'internal', 'Internal error', (error as Error).message), true);
      else res.destroy();
    });
  });
}

async function handle(workspace: Workspace, identity: PodIdentity, log: (line: string) => void, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://pod');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /health') {
    sendJson(res, 200, identity.health(url));
    return;
  }
  if (!identity.authorized(req)) {
    log(`files: ${req.method} ${url.pathname} refused: no valid pod secret`);
    throw unauthorized();
  }
  switch (route) {
    case 'GET /files/manifest':
      sendJson(res, 200, await workspace.manifest());
      return;
    case 'POST /files/read': {
      const body = await readJson(req);
      const tarStream = await workspace.readTar(pathsOf(body));
      res.writeHead(200, { 'content-type': 'application/x-tar' });
      await pipeline(tarStream, res);
      return;
    }
    case 'PUT /files':
      sendJson(res, 200, await workspace.writeTar(req));
      return;
    case 'POST /files/delete':
      sendJson(res, 200, await workspace.delete(pathsOf(await readJson(req))));
      return;
  }
  const known = ['/health', '/files/manifest', '/files/read', '/files', '/files/delete'];
  if (known.includes(url.pathname)) {
    throw new PodError(405, 'method-not-allowed', 'Method not allowed', `${req.method} is not allowed on ${url.pathname}`);
  }
  throw new PodError(404, 'not-found', 'Not found', `no route ${url.pathname}`);
}

function pathsOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PodError(400, 'bad-request', 'Bad request', "the body must be an object {\"paths\": [...]}");
  }
  return (body as { paths?: unknown }).paths;
}
