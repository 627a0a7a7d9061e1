import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createFilesServer } from '../src/files-server.js';
import { close, listen } from '../src/http.js';
import { Workspace, type Limits } from '../src/workspace.js';
import { AUTH, POD_SECRET, TEST_SESSION_ID, listTree, makeTar, readTar, tempDir, testIdentity, writeFiles, type TarEntrySpec } from './helpers.js';

const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => close(s)));
});

async function pod(limits: Partial<Limits> = {}): Promise<{ ws: string; url: string; workspace: Workspace }> {
  const ws = await tempDir();
  const workspace = new Workspace(ws, { maxFileBytes: 1024 * 1024, maxTotalBytes: 8 * 1024 * 1024, maxEntries: 1000, ...limits });
  await workspace.prepare();
  const server = createFilesServer(workspace, testIdentity);
  servers.push(server);
  const port = await listen(server, 0, '127.0.0.1');
  return { ws, url: `http://127.0.0.1:${port}`, workspace };
}

const timeout = (): AbortSignal => AbortSignal.timeout(10_000);
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function manifest(url: string): Promise<{ files: { path: string; sha256: string; size: number }[]; skipped: { path: string; reason: string }[] }> {
  const res = await fetch(`${url}/files/manifest`, { headers: AUTH, signal: timeout() });
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

async function put(url: string, body: Buffer): Promise<Response> {
  return fetch(`${url}/files`, { method: 'PUT', body, headers: { ...AUTH, 'content-type': 'application/x-tar' }, signal: timeout() });
}

async function post(url: string, route: string, body: unknown): Promise<Response> {
  return fetch(`${url}${route}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { ...AUTH, 'content-type': 'application/json' },
    signal: timeout(),
  });
}

async function problem(res: Response, status: number, type: string): Promise<{ detail: string }> {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${await res.clone().text()}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await res.json()) as { type: string; detail: string; status: number };
  assert.equal(body.type, `urn:storydream:pod:${type}`);
  assert.equal(body.status, status);
  return body;
}

describe('file API', () => {
  it('answers health without the secret, naming its session, and proves it with an HMAC of the challenge', async () => {
    const { url } = await pod();
    const res = await fetch(`${url}/health`, { signal: timeout() });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', sessionId: TEST_SESSION_ID });
    const challenge = 'c'.repeat(20) + Date.now();
    const proven = (await (await fetch(`${url}/health?challenge=${challenge}`, { signal: timeout() })).json()) as { proof: string };
    const expected = createHmac('sha256', POD_SECRET).update(`storydream-pod-identity\n${TEST_SESSION_ID}\n${challenge}`).digest('base64url');
    assert.equal(proven.proof, expected);
    const silly = (await (await fetch(`${url}/health?challenge=short`, { signal: timeout() })).json()) as { proof?: string };
    assert.equal(silly.proof, undefined, 'a malformed challenge gets no proof');
  });

  it('refuses every other route with 401 and writes nothing without the right pod secret', async () => {
    const { ws, url } = await pod();
    const tar = await makeTar([{ name: 'src/planted.txt', content: 'from a stranger' }]);
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-secret' }, { authorization: POD_SECRET }, { authorization: `Bearer ${POD_SECRET}x` }]) {
      await problem(await fetch(`${url}/files/manifest`, { headers, signal: timeout() }), 401, 'unauthorized');
      await problem(await fetch(`${url}/files`, { method: 'PUT', body: tar, headers: { ...headers, 'content-type': 'application/x-tar' }, signal: timeout() }), 401, 'unauthorized');
      await problem(
        await fetch(`${url}/files/delete`, { method: 'POST', body: '{"paths":["src/a.txt"]}', headers: { ...headers, 'content-type': 'application/json' }, signal: timeout() }),
        401,
        'unauthorized',
      );
    }
    assert.deepEqual(await listTree(path.join(ws, 'src')), []);
  });

  it('lists src/ and .claude/ files sorted with sha256 and size, and nothing else', async () => {
    const { ws, url } = await pod();
    await writeFiles(ws, {
      'src/b.tsx': 'bee',
      'src/a/z.ts': 'zed',
      'src/A.ts': 'upper',
      '.claude/projects/x/s.jsonl': '{"a":1}\n',
      'index.html': '<html>',
      'node_modules/react/index.js': 'no',
      'other/file.txt': 'no',
    });
    const { files, skipped } = await manifest(url);
    assert.deepEqual(files, [
      { path: '.claude/projects/x/s.jsonl', sha256: sha('{"a":1}\n'), size: 8 },
      { path: 'src/A.ts', sha256: sha('upper'), size: 5 },
      { path: 'src/a/z.ts', sha256: sha('zed'), size: 3 },
      { path: 'src/b.tsx', sha256: sha('bee'), size: 3 },
    ]);
    assert.deepEqual(skipped, []);
  });

  it('hashes again only what changed: same-size edits, fresh edits, replaced and deleted files', async () => {
    const { ws, url, workspace } = await pod();
    await writeFiles(ws, { 'src/old.ts': 'aaaa', 'src/kept.ts': 'kept', 'src/gone.ts': 'gone', 'src/swap.ts': 'swap' });
    // Older than the racy window, so the first manifest keeps their hashes for the next one.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const first = await manifest(url);
    assert.deepEqual(first.files.map((f) => [f.path, f.sha256]), [
      ['src/gone.ts', sha('gone')], ['src/kept.ts', sha('kept')], ['src/old.ts', sha('aaaa')], ['src/swap.ts', sha('swap')],
    ]);
    assert.equal(workspace.filesHashed, 4);
    await manifest(url);
    assert.equal(workspace.filesHashed, 4, 'unchanged files are not read again');

    await fs.writeFile(path.join(ws, 'src/old.ts'), 'bbbb'); // same size, new content
    await fs.rm(path.join(ws, 'src/gone.ts'));
    await fs.writeFile(path.join(ws, 'src/next.ts'), 'swap');
    await fs.rename(path.join(ws, 'src/next.ts'), path.join(ws, 'src/swap.ts')); // same content, another inode
    const second = await manifest(url);
    assert.deepEqual(second.files.map((f) => [f.path, f.sha256, f.size]), [
      ['src/kept.ts', sha('kept'), 4], ['src/old.ts', sha('bbbb'), 4], ['src/swap.ts', sha('swap'), 4],
    ]);
    assert.equal(workspace.filesHashed, 6, 'only the edited and the replaced file are read again');

    // Edits within the same clock tick as the previous manifest are still seen.
    await fs.writeFile(path.join(ws, 'src/old.ts'), 'cccc');
    assert.equal((await manifest(url)).files.find((f) => f.path === 'src/old.ts')?.sha256, sha('cccc'));
    await fs.writeFile(path.join(ws, 'src/old.ts'), 'dddd');
    assert.equal((await manifest(url)).files.find((f) => f.path === 'src/old.ts')?.sha256, sha('dddd'));
  });

  it('hashes changed files of every size, past the synchronous budget too, then reuses every hash', async () => {
    const { ws, url, workspace } = await pod({ maxFileBytes: 4 * 1024 * 1024, maxTotalBytes: 16 * 1024 * 1024 });
    // Twelve 100 KiB files pass the 1 MiB a walk hashes synchronously; 300 KiB is over its per-file bound; the rest is small.
    const files: Record<string, string> = { 'src/big.bin': 'b'.repeat(300 * 1024), '.claude/small.json': '{}' };
    for (let i = 0; i < 12; i++) files[`src/many/f${String(i).padStart(2, '0')}.txt`] = String(i).repeat(100 * 1024);
    await writeFiles(ws, files);
    await fs.symlink('../big.bin', path.join(ws, 'src', 'many', 'alias.bin'));
    await new Promise((resolve) => setTimeout(resolve, 2_100));

    const first = await manifest(url);

    const expected = Object.entries({ ...files, 'src/many/alias.bin': files['src/big.bin']! })
      .map(([p, content]) => ({ path: p, sha256: sha(content), size: Buffer.byteLength(content) }))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
    assert.deepEqual(first.files, expected);
    assert.equal(workspace.filesHashed, 15);
    assert.deepEqual((await manifest(url)).files, expected);
    assert.equal(workspace.filesHashed, 15, 'every hash, however it was made, is reused while the file is unchanged');
  });

  it('leaves symlinks out of the manifest when they leave their root, and says why', async () => {
    const { ws, url } = await pod();
    const outside = await tempDir();
    await writeFiles(outside, { 'secret.txt': 'secret' });
    await writeFiles(ws, { 'src/real.ts': 'real' });
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(ws, 'src', 'leak.ts'));
    await fs.symlink('real.ts', path.join(ws, 'src', 'alias.ts'));
    await fs.symlink(outside, path.join(ws, 'src', 'dir-out'));
    const { files, skipped } = await manifest(url);
    assert.deepEqual(
      files.map((f) => f.path),
      ['src/alias.ts', 'src/real.ts'],
    );
    assert.equal(files[0]!.sha256, sha('real'));
    assert.deepEqual(
      skipped.map((s) => s.path),
      ['src/dir-out', 'src/leak.ts'],
    );
    assert.match(skipped[1]!.reason, /leads out of src\//);
  });

  it('lists files over the size limit and names the worker would refuse as skipped, with the reason', async () => {
    const { ws, url } = await pod({ maxFileBytes: 1000 });
    await writeFiles(ws, {
      'src/ok.ts': 'fine',
      'src/big.bin': 'x'.repeat(1001),
      'src/cafe\u0301.ts': 'nfd',
      'src/c1-\u0085.ts': 'nel',
    });
    const { files, skipped } = await manifest(url);
    assert.deepEqual(files.map((f) => f.path), ['src/ok.ts']);
    assert.deepEqual(skipped.map((s) => s.path), ['src/big.bin', 'src/c1-\u0085.ts', 'src/cafe\u0301.ts']);
    assert.match(skipped[0]!.reason, /1001 bytes; the limit is 1000 bytes per file/);
    assert.match(skipped[1]!.reason, /control character/);
    assert.match(skipped[2]!.reason, /normalization form C/);
  });

  it('hydrates from a tar and serves the same bytes back', async () => {
    const { ws, url } = await pod();
    await writeFiles(ws, { 'src/keep.ts': 'untouched', 'src/over.ts': 'old' });
    const res = await put(
      url,
      await makeTar([
        { name: 'src/', type: 'directory' },
        { name: 'src/over.ts', content: 'new' },
        { name: 'src/deep/er/file.tsx', content: 'export const x = 1;\n' },
        { name: '.claude/projects/p/s.jsonl', content: 'line\n' },
        { name: `src/${'long-name-'.repeat(20)}.ts`, content: 'pax path' },
      ]),
    );
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { written: string[] };
    assert.equal(body.written.length, 4);
    assert.equal(await fs.readFile(path.join(ws, 'src/over.ts'), 'utf8'), 'new');
    assert.equal(await fs.readFile(path.join(ws, 'src/keep.ts'), 'utf8'), 'untouched');
    assert.equal(await fs.readFile(path.join(ws, 'src/deep/er/file.tsx'), 'utf8'), 'export const x = 1;\n');

    const read = await post(url, '/files/read', { paths: ['src/deep/er/file.tsx', '.claude/projects/p/s.jsonl', 'src/over.ts'] });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('content-type'), 'application/x-tar');
    const files = await readTar(Buffer.from(await read.arrayBuffer()));
    assert.deepEqual(
      [...files.entries()],
      [
        ['src/deep/er/file.tsx', 'export const x = 1;\n'],
        ['.claude/projects/p/s.jsonl', 'line\n'],
        ['src/over.ts', 'new'],
      ],
    );
  });

  it('round-trips a whole workspace into another pod with an equal manifest', async () => {
    const a = await pod();
    const b = await pod();
    await writeFiles(a.ws, { 'src/x.ts': 'x', 'src/y/z.ts': 'z'.repeat(10_000), '.claude/c.md': '# c' });
    const { files } = await manifest(a.url);
    const tarball = Buffer.from(await (await post(a.url, '/files/read', { paths: files.map((f) => f.path) })).arrayBuffer());
    assert.equal((await put(b.url, tarball)).status, 200);
    assert.deepEqual((await manifest(b.url)).files, files);
  });

  const hostile: [string, TarEntrySpec, RegExp][] = [
    ['a parent-directory path', { name: 'src/../../escape.txt', content: 'x' }, /'\.\.' segments/],
    ['a path outside the roots', { name: 'escape.txt', content: 'x' }, /inside one of the roots/],
    ['an absolute path', { name: '/tmp/escape.txt', content: 'x' }, /absolute/],
    ['a symlink', { name: 'src/link', type: 'symlink', linkname: '/etc/passwd' }, /entry type 'symlink' is not allowed/],
    ['a hard link', { name: 'src/hard', type: 'link', linkname: 'src/ok.txt' }, /entry type 'link' is not allowed/],
    ['a character device', { name: 'src/dev', type: 'character-device' }, /entry type 'character-device'/],
    ['a fifo', { name: 'src/fifo', type: 'fifo' }, /entry type 'fifo'/],
    ['a NUL byte (through a pax path)', { name: 'src/a\u0000b.txt', content: 'x', pax: true }, /NUL/],
    ['an over-long path', { name: `src/${'d/'.repeat(700)}f.txt`, content: 'x' }, /longer than 1024 bytes/],
  ];
  for (const [what, entry, reason] of hostile) {
    it(`refuses a tar with ${what} and writes nothing`, async () => {
      const { ws, url } = await pod();
      const before = await listTree(ws);
      const res = await put(url, await makeTar([{ name: 'src/ok.txt', content: 'written first' }, entry, { name: 'src/after.txt', content: 'x' }]));
      const body = await problem(res, 400, 'invalid-path');
      assert.match(body.detail, reason);
      assert.deepEqual(await listTree(ws), before);
      await assert.rejects(fs.access(path.join(path.dirname(ws), 'escape.txt')));
    });
  }

  it('refuses a file over the size limit with 413 and writes nothing', async () => {
    const { ws, url } = await pod({ maxFileBytes: 1000 });
    const before = await listTree(ws);
    const res = await put(url, await makeTar([{ name: 'src/small.txt', content: 'ok' }, { name: 'src/big.bin', content: Buffer.alloc(1001) }]));
    const body = await problem(res, 413, 'file-too-large');
    assert.match(body.detail, /src\/big\.bin is 1001 bytes; the limit is 1000/);
    assert.deepEqual(await listTree(ws), before);
  });

  it('refuses more bytes in total than the upload limit', async () => {
    const { ws, url } = await pod({ maxFileBytes: 1000, maxTotalBytes: 1500 });
    const before = await listTree(ws);
    const res = await put(url, await makeTar([{ name: 'src/a.bin', content: Buffer.alloc(800) }, { name: 'src/b.bin', content: Buffer.alloc(800) }]));
    await problem(res, 413, 'upload-too-large');
    assert.deepEqual(await listTree(ws), before);
  });

  it('refuses a truncated tar and a body that is not a tar, writing nothing', async () => {
    const { ws, url } = await pod();
    const before = await listTree(ws);
    const whole = await makeTar([{ name: 'src/a.txt', content: 'a' }, { name: 'src/b.txt', content: 'b'.repeat(5000) }]);
    await problem(await put(url, whole.subarray(0, 1024 + 512 + 1000)), 400, 'bad-request');
    await problem(await put(url, Buffer.from('this is not a tar archive at all, just text that goes on'.repeat(20))), 400, 'bad-request');
    assert.deepEqual(await listTree(ws), before);
  });

  it('refuses to write through a folder symlink that leaves the root', async () => {
    const { ws, url } = await pod();
    const outside = await tempDir();
    await fs.symlink(outside, path.join(ws, 'src', 'out'));
    const res = await put(url, await makeTar([{ name: 'src/out/planted.txt', content: 'x' }]));
    const body = await problem(res, 400, 'invalid-path');
    assert.match(body.detail, /leads out of src\//);
    assert.deepEqual(await fs.readdir(outside), []);
  });

  it('reports a file that would replace a folder as a conflict, before writing anything', async () => {
    const { ws, url } = await pod();
    await writeFiles(ws, { 'src/thing/inner.ts': 'inner' });
    const before = await listTree(ws);
    await problem(await put(url, await makeTar([{ name: 'src/first.ts', content: '1' }, { name: 'src/thing', content: 'x' }])), 409, 'path-conflict');
    await problem(await put(url, await makeTar([{ name: 'src/p', content: 'x' }, { name: 'src/p/q', content: 'y' }])), 409, 'path-conflict');
    assert.deepEqual(await listTree(ws), before);
  });

  it('refuses bad read requests with clear problems', async () => {
    const { ws, url } = await pod();
    const outside = await tempDir();
    await writeFiles(outside, { 'secret.txt': 'secret' });
    await writeFiles(ws, { 'src/a.ts': 'a' });
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(ws, 'src', 'leak.ts'));
    assert.match((await problem(await post(url, '/files/read', { paths: ['src/a.ts', 'src/none.ts'] }), 404, 'file-not-found')).detail, /src\/none\.ts/);
    assert.match((await problem(await post(url, '/files/read', { paths: ['src/leak.ts'] }), 400, 'invalid-path')).detail, /leads out/);
    assert.match((await problem(await post(url, '/files/read', { paths: ['../etc/passwd'] }), 400, 'invalid-path')).detail, /roots|\.\./);
    await problem(await post(url, '/files/read', { paths: 'src/a.ts' }), 400, 'bad-request');
    await problem(await post(url, '/files/read', { paths: [] }), 400, 'bad-request');
    await problem(await post(url, '/files/read', { paths: ['src/a.ts', 'src/a.ts'] }), 400, 'bad-request');
    await problem(await post(url, '/files/read', '[1,2]'), 400, 'bad-request');
    await problem(await post(url, '/files/read', '{not json'), 400, 'bad-request');
    const wrongType = await fetch(`${url}/files/read`, { method: 'POST', body: '{}', headers: { ...AUTH, 'content-type': 'text/plain' }, signal: timeout() });
    await problem(wrongType, 415, 'unsupported-media-type');
    await problem(await post(url, '/files/read', { paths: ['src/a.ts'], pad: 'x'.repeat(1024 * 1024) }), 413, 'body-too-large');
  });

  it('deletes files, reports missing ones, prunes empty folders and never follows a symlink', async () => {
    const { ws, url } = await pod();
    const outside = await tempDir();
    await writeFiles(outside, { 'target.txt': 'keep me' });
    await writeFiles(ws, { 'src/a/b/c.ts': 'c', 'src/a/keep.ts': 'k', 'src/d/e.ts': 'e' });
    await fs.symlink(path.join(outside, 'target.txt'), path.join(ws, 'src', 'link.txt'));
    const res = await post(url, '/files/delete', { paths: ['src/a/b/c.ts', 'src/d/e.ts', 'src/link.txt', 'src/gone.ts'] });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { deleted: ['src/a/b/c.ts', 'src/d/e.ts', 'src/link.txt'], missing: ['src/gone.ts'] });
    assert.deepEqual(await listTree(path.join(ws, 'src')), ['a', 'a/keep.ts']);
    assert.equal(await fs.readFile(path.join(outside, 'target.txt'), 'utf8'), 'keep me');
  });

  it('refuses to delete a folder, a path outside the roots, or through a symlink out of the root', async () => {
    const { ws, url } = await pod();
    const outside = await tempDir();
    await writeFiles(outside, { 'victim.txt': 'v' });
    await writeFiles(ws, { 'src/dir/f.ts': 'f' });
    await fs.symlink(outside, path.join(ws, 'src', 'out'));
    assert.match((await problem(await post(url, '/files/delete', { paths: ['src/dir'] }), 400, 'invalid-path')).detail, /is a folder/);
    await problem(await post(url, '/files/delete', { paths: ['src/dir/f.ts', 'src/../../x'] }), 400, 'invalid-path');
    await problem(await post(url, '/files/delete', { paths: ['src/out/victim.txt'] }), 400, 'invalid-path');
    assert.equal(await fs.readFile(path.join(ws, 'src/dir/f.ts'), 'utf8'), 'f');
    assert.equal(await fs.readFile(path.join(outside, 'victim.txt'), 'utf8'), 'v');
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    const { url } = await pod();
    await problem(await fetch(`${url}/nope`, { headers: AUTH, signal: timeout() }), 404, 'not-found');
    await problem(await fetch(`${url}/files/manifest`, { method: 'DELETE', headers: AUTH, signal: timeout() }), 405, 'method-not-allowed');
    await problem(await fetch(`${url}/files`, { method: 'GET', headers: AUTH, signal: timeout() }), 405, 'method-not-allowed');
  });
});
