// A scripted walk through the gateway of a running app host (bash eng/run.sh): create a project, start its session,
// chat one turn with the scripted agent, fetch the preview, check the agent's edit is in the new snapshot, stop.
// Usage: node eng/walk.mjs [GATEWAY_URL]   (default http://localhost:5100; token from $TOKEN or .dev/dev-token)
// Each step prints what it did and how long it took; the first failure says what went wrong and exits 1.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Node 20 has no WebSocket client of its own; the session pod's dependency is installed by eng/setup.sh.
const WebSocket = createRequire(path.join(root, 'session-pod', 'package.json'))('ws');

const gateway = new URL(process.argv[2] ?? process.env.STORYDREAM_GATEWAY ?? 'http://localhost:5100');
const token = (process.env.TOKEN ?? readToken()).trim();
const stepTimeoutMs = Number(process.env.WALK_STEP_TIMEOUT_MS ?? 120_000);

function readToken() {
  const file = path.join(process.env.STORYDREAM_DEV_DIRECTORY ?? path.join(root, '.dev'), 'dev-token');
  try {
    return readFileSync(file, 'utf8');
  } catch {
    fail(`no token: set TOKEN, or start the app host (bash eng/run.sh), which writes ${file}`);
  }
}

function fail(message) {
  console.error(`walk: FAILED: ${message}`);
  process.exit(1);
}

async function step(name, action) {
  const started = performance.now();
  try {
    const detail = await action();
    const shown = typeof detail === 'string' ? ` ${detail}` : '';
    console.log(`walk: ${name} ... ok (${Math.round(performance.now() - started)} ms)${shown}`);
    return detail;
  } catch (error) {
    fail(`${name}: ${error.message}`);
  }
}

/** One HTTP exchange to the gateway's address, whatever host the URL names (preview hosts are *.preview.localhost). */
function request(method, url, { body, headers = {} } = {}) {
  const target = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: gateway.hostname === 'localhost' ? '127.0.0.1' : gateway.hostname,
      port: gateway.port || 80,
      method,
      path: target.pathname + target.search,
      headers: {
        host: target.host,
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        ...headers,
      },
      timeout: stepTimeoutMs,
    }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${stepTimeoutMs} ms`)));
    req.on('error', (error) => reject(new Error(`${method} ${url}: ${error.message} (is the app host running? bash eng/run.sh)`)));
    req.end(payload);
  });
}

async function api(method, route, body, expected) {
  const response = await request(method, new URL(`/api${route}`, gateway), { body, headers: { authorization: `Bearer ${token}` } });
  if (response.status !== expected) {
    throw new Error(`${method} /api${route} answered ${response.status}, expected ${expected}: ${response.text.slice(0, 500)}`);
  }
  return response.text ? JSON.parse(response.text) : undefined;
}

const marker = randomUUID();
const project = await step('create project', async () => {
  const created = await api('POST', '/projects', { name: `Walk ${marker.slice(0, 8)}` }, 201);
  return `${created.id}`;
});

let session = await step('start session', async () => {
  let started = await api('POST', `/projects/${project}/session`, undefined, 200);
  const deadline = Date.now() + stepTimeoutMs;
  while (started.status !== 'ready') {
    if (Date.now() > deadline) { throw new Error(`the session is still '${started.status}' after ${stepTimeoutMs} ms`); }
    await new Promise((resolve) => setTimeout(resolve, 250));
    started = await api('GET', `/projects/${project}/session`, undefined, 200);
  }
  return started;
});
console.log(`walk:   session ${session.id}, preview ${session.previewUrl}`);

const file = `src/walk-${marker.slice(0, 8)}.txt`;
const text = `hello from the walk ${marker}`;
// A browser cannot put its token on a WebSocket, and a token in a URL ends up in logs: the socket takes a single-use ticket.
const { ticket } = await step('take a chat ticket', () => api('POST', `/projects/${project}/chat/ticket`, undefined, 200));
const turn = await step('chat one turn (scripted agent)', () => new Promise((resolve, reject) => {
  const url = new URL(`/api/projects/${project}/chat?ticket=${encodeURIComponent(ticket)}`, gateway);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.hostname === 'localhost') { url.hostname = '127.0.0.1'; }
  const socket = new WebSocket(url);
  const seen = [];
  const timer = setTimeout(() => { socket.terminate(); reject(new Error(`no snapshot_created within ${stepTimeoutMs} ms; frames seen: ${seen.join(', ')}`)); }, stepTimeoutMs);
  socket.on('open', () => socket.send(JSON.stringify({ type: 'user_message', content: `create ${file} with ${text}`, clientMessageId: marker })));
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    seen.push(frame.type);
    if (frame.type === 'error') {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`error frame ${frame.code}: ${frame.detail}`));
    } else if (frame.type === 'snapshot_created') {
      clearTimeout(timer);
      socket.close();
      for (const expected of ['message_saved', 'assistant_delta', 'agent_action', 'assistant_complete']) {
        if (!seen.includes(expected)) { reject(new Error(`snapshot_created came without ${expected}; frames: ${seen.join(', ')}`)); return; }
      }
      resolve(frame.snapshotId);
    }
  });
  socket.on('error', (error) => { clearTimeout(timer); reject(new Error(`chat WebSocket: ${error.message}`)); });
  socket.on('unexpected-response', (_, response) => { clearTimeout(timer); reject(new Error(`chat WebSocket refused with ${response.statusCode}`)); });
}));

await step('the edit is in the snapshot', async () => {
  const response = await request('GET', new URL(`/api/projects/${project}/files/${file}?snapshot=${turn}`, gateway), { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200 || response.text !== text) {
    throw new Error(`GET ${file} at snapshot ${turn} answered ${response.status}: ${response.text.slice(0, 200)}`);
  }
  return `(snapshot ${turn})`;
});

await step('fetch the preview', async () => {
  const withToken = new URL(session.previewUrl);
  withToken.searchParams.set('sd_token', session.previewToken);
  const redirect = await request('GET', withToken);
  const cookie = redirect.headers['set-cookie']?.[0]?.split(';')[0];
  if (redirect.status !== 302 || !cookie) {
    throw new Error(`the token link answered ${redirect.status} without a cookie, expected 302 with Set-Cookie: ${redirect.text.slice(0, 200)}`);
  }
  const page = await request('GET', new URL(redirect.headers.location, session.previewUrl), { headers: { cookie } });
  if (page.status !== 200 || !/<div id="root"|@vite\/client/.test(page.text)) {
    throw new Error(`the preview page answered ${page.status}: ${page.text.slice(0, 200)}`);
  }
  const module = await request('GET', new URL('src/main.tsx', session.previewUrl), { headers: { cookie } });
  if (module.status !== 200 || !module.headers['content-type']?.includes('javascript')) {
    throw new Error(`src/main.tsx through the preview answered ${module.status} (${module.headers['content-type']})`);
  }
  return `(${page.text.length} bytes of page, ${module.text.length} bytes of src/main.tsx)`;
});

await step('stop session', async () => {
  await api('DELETE', `/projects/${project}/session`, undefined, 202);
});

console.log(`walk: done: project ${project}`);
