import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { entrySource } from '../src/render-job.js';
import { parseRequest } from '../src/render-server.js';
import { proof } from '../src/identity.js';
import { AUTH, POD_SECRET, tempDir } from './helpers.js';
import { RENDER_ID, small, startRenderPod, templateTar, waitFinal } from './support/render-pod.js';

const SNAPSHOT = 'ab'.repeat(32);

describe('render mode', () => {
  it('parseRequest refuses bad fields and defaults the rest', () => {
    assert.deepEqual(parseRequest({}), { kind: 'video', composition: undefined, codec: 'h264', crf: undefined, frame: 0, snapshotId: undefined });
    assert.throws(() => parseRequest({ snapshotId: '../a' }), /snapshotId/);
    assert.throws(() => parseRequest({ kind: 'gif' }), /kind/);
    assert.throws(() => parseRequest({ composition: '../x' }), /composition/);
    assert.throws(() => parseRequest({ codec: 'vp9' }), /codec/);
    assert.throws(() => parseRequest({ crf: 0 }), /crf/);
    assert.throws(() => parseRequest({ frame: -1 }), /frame/);
    assert.throws(() => parseRequest([]), /object/);
  });

  it('the entry uses src/Root.tsx when the project has one, else the template layout', async () => {
    const workspace = await tempDir('sd-render-');
    assert.match(entrySource(workspace), /myVideoConfig/);
    await fs.mkdir(path.join(workspace, 'src'), { recursive: true });
    await fs.writeFile(path.join(workspace, 'src', 'Root.tsx'), 'export const RemotionRoot = () => null;');
    assert.match(entrySource(workspace), /RemotionRoot/);
  });

  it('hydrated through the file API, renders a still of the composition once, and answers while it works', async () => {
    const workspace = await tempDir('sd-render-');
    const cache = await tempDir('sd-render-cache-');
    const pod = await startRenderPod(workspace, { RENDER_CACHE_DIR: cache });
    const put = await fetch(`${pod.files}/files`, { method: 'PUT', body: await templateTar(small), headers: { ...AUTH, 'content-type': 'application/x-tar' } });
    assert.equal(put.status, 200);
    assert.equal((await fetch(`${pod.render}/render/output`, { headers: AUTH })).status, 409);

    const request = JSON.stringify({ kind: 'still', frame: 10, snapshotId: SNAPSHOT });
    const started = await fetch(`${pod.render}/render`, { method: 'POST', body: request, headers: { ...AUTH, 'content-type': 'application/json' } });
    assert.equal(started.status, 202);
    const again = await fetch(`${pod.render}/render`, { method: 'POST', body: '{}', headers: { ...AUTH, 'content-type': 'application/json' } });
    assert.equal(again.status, 409);
    const status = await waitFinal(pod.render);

    assert.equal(status.state, 'complete', String(status.error));
    assert.deepEqual(status.composition, { id: 'MyVideo', width: 320, height: 180, fps: 30, durationInFrames: 30 });
    const png = Buffer.from(await (await fetch(`${pod.render}/render/output`, { headers: AUTH })).arrayBuffer());
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [320, 180]);
    const manifest = (await (await fetch(`${pod.files}/files/manifest`, { headers: AUTH })).json()) as { files: { path: string }[] };
    assert.ok(manifest.files.every((f) => f.path.startsWith('src/')), 'render work files stay out of the synced roots');
    pod.child.kill('SIGTERM');

    // The snapshot's bundle is where RENDER_CACHE_DIR says, with nothing else, and a second pod of the same snapshot
    // renders from that bundle, leaving it as it was.
    assert.deepEqual(await fs.readdir(cache), ['bundles']);
    assert.deepEqual(await fs.readdir(path.join(cache, 'bundles')), [SNAPSHOT]);
    const bundled = await fs.stat(path.join(cache, 'bundles', SNAPSHOT, 'index.html'));
    const second = await startRenderPod(await tempDir('sd-render-'), { RENDER_CACHE_DIR: cache });
    assert.equal((await fetch(`${second.files}/files`, { method: 'PUT', body: await templateTar(small), headers: { ...AUTH, 'content-type': 'application/x-tar' } })).status, 200);
    assert.equal((await fetch(`${second.render}/render`, { method: 'POST', body: request, headers: { ...AUTH, 'content-type': 'application/json' } })).status, 202);
    const reused = await waitFinal(second.render);
    assert.equal(reused.state, 'complete', String(reused.error));
    assert.deepEqual(await fs.readdir(path.join(cache, 'bundles')), [SNAPSHOT]);
    assert.equal((await fs.stat(path.join(cache, 'bundles', SNAPSHOT, 'index.html'))).mtimeMs, bundled.mtimeMs);
    second.child.kill('SIGTERM');
  });

  it('without RENDER_CACHE_DIR keeps its caches in its own workspace', async () => {
    const workspace = await tempDir('sd-render-');
    const pod = await startRenderPod(workspace);
    assert.equal((await fetch(`${pod.files}/files`, { method: 'PUT', body: await templateTar(small), headers: { ...AUTH, 'content-type': 'application/x-tar' } })).status, 200);
    const body = JSON.stringify({ kind: 'still', snapshotId: SNAPSHOT });
    assert.equal((await fetch(`${pod.render}/render`, { method: 'POST', body, headers: { ...AUTH, 'content-type': 'application/json' } })).status, 202);
    const status = await waitFinal(pod.render);

    assert.equal(status.state, 'complete', String(status.error));
    const own = path.join(workspace, '.storydream-render', 'cache');
    assert.deepEqual(await fs.readdir(path.join(own, 'bundles')), [SNAPSHOT]);
    pod.child.kill('SIGTERM');
  });

  it('proves its identity on /health and refuses every other route without the pod secret', async () => {
    const pod = await startRenderPod(await tempDir('sd-render-'));
    const challenge = 'a-challenge-of-twenty-four-chars';

    const health = (await (await fetch(`${pod.render}/health?challenge=${challenge}`)).json()) as Record<string, unknown>;
    const refused = await Promise.all([
      fetch(`${pod.render}/render`),
      fetch(`${pod.render}/render`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer wrong-secret-wrong-secret-wrong-secret' } }),
      fetch(`${pod.render}/render/output`),
      fetch(`${pod.files}/files/manifest`),
    ]);

    assert.equal(health.sessionId, RENDER_ID);
    assert.equal(health.proof, proof(POD_SECRET, RENDER_ID, challenge));
    assert.deepEqual(refused.map((r) => r.status), [401, 401, 401, 401]);
    assert.equal(((await (await fetch(`${pod.render}/render`, { headers: AUTH })).json()) as { state: string }).state, 'idle');
    pod.child.kill('SIGTERM');
  });

  it('opens its browser before the render is asked for, and a pod killed before any render leaves nothing running', async () => {
    const workspace = await tempDir('sd-render-');
    const pod = await startRenderPod(workspace);
    const ofPod = async (): Promise<string[]> => {
      const found: string[] = [];
      for (const pid of await fs.readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const environ = await fs.readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
        if (!environ.split('\0').includes(`WORKSPACE_DIR=${workspace}`)) continue;
        found.push(await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''));
      }
      return found;
    };
    const until = async (what: string, done: (commands: string[]) => boolean): Promise<string[]> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const commands = await ofPod();
        if (done(commands)) return commands;
        if (Date.now() > deadline) throw new Error(`${what} within 30 s; running: ${commands.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    await until('no browser started', (commands) => commands.some((c) => c.includes('chromium')));
    pod.child.kill('SIGKILL');
    await until('processes left behind', (commands) => commands.length === 0);
  });
});
