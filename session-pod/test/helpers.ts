import { once } from 'node:events';
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import WebSocket from 'ws';
import { PodIdentity } from '../src/identity.js';

export const POD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TEMPLATE_DIR = path.resolve(POD_DIR, '..', 'templates', 'default');

export const TEST_SESSION_ID = 'session-under-test';
export const POD_SECRET = 'a-pod-secret-for-tests-0123456789abcdef';
export const testIdentity = new PodIdentity(TEST_SESSION_ID, POD_SECRET);
/** The header every caller of a pod's :3000, :3001 and :3002 sends. */
export const AUTH = { authorization: `Bearer ${POD_SECRET}` } as const;

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder, removed when the test process exits. */
export async function tempDir(prefix = 'sd-pod-'): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
  tempDirs.push(dir);
  return dir;
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const target = path.join(root, relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, content);
  }
}

export async function copyTemplate(workspace: string): Promise<void> {
  await fs.cp(path.join(TEMPLATE_DIR, 'src'), path.join(workspace, 'src'), { recursive: true });
}

export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
      out.push(rel);
      if (e.isDirectory()) await walk(path.join(dir, e.name), rel);
    }
  }
  await walk(root, '');
  return out.sort();
}

export interface TarEntrySpec {
  name: string;
  content?: string | Buffer;
  type?: tar.Header['type'];
  linkname?: string;
  pax?: boolean;
}

export async function makeTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const header: Partial<tar.Header> & { name: string } = { name: entry.name, type: entry.type ?? 'file' };
    if (entry.linkname !== undefined) header.linkname = entry.linkname;
    if (entry.pax) header.pax = {};
    await new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (header.type === 'file') pack.entry({ ...header, size: content.length }, content, callback);
      else pack.entry(header, Buffer.alloc(0), callback);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export async function readTar(data: Buffer): Promise<Map<string, string>> {
  const extract = tar.extract();
  const files = new Map<string, string>();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks).toString('utf8'));
    }
  })();
  extract.end(data);
  await done;
  return files;
}

/** A WebSocket client that queues frames so a test can await them in order, each with a deadline. */
export class FrameClient {
  private readonly frames: Record<string, unknown>[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Record<string, unknown>);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async connect(url: string, timeoutMs = 5000, headers: Record<string, string> = AUTH): Promise<FrameClient> {
    const socket = new WebSocket(url, { headers });
    const timer = setTimeout(() => socket.terminate(), timeoutMs);
    try {
      await once(socket, 'open');
    } finally {
      clearTimeout(timer);
    }
    return new FrameClient(socket);
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  async next(timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) throw new Error('socket closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.frames.shift()!;
  }

  /** Frames up to and including the first turn-ending one (turn_complete, or error agent_failed/cancelled). */
  async turn(timeoutMs = 10000): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()));
      out.push(frame);
      if (frame.type === 'turn_complete') return out;
      if (frame.type === 'error' && (frame.code === 'agent_failed' || frame.code === 'cancelled')) return out;
    }
  }

  pending(): number {
    return this.frames.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const closed = once(this.socket, 'close');
    this.socket.close();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    this.socket.terminate();
  }
}
