import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { PodError, badRequest, describe, invalidPath } from './errors.js';
import { FileMissingError, ROOTS, WorkspacePaths, isInside, isMissing, rootOf, validateRelativePath } from './paths.js';

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface Limits {
  maxFileBytes: number;
  maxTotalBytes: number;
  maxEntries: number;
}

/** Staged uploads live in the workspace volume (so the final rename never crosses devices) but outside the synced roots. */
export const STAGING_DIR = '.storydream-staging';

/** The pod's own files and the synced roots share the workspace; this keeps one writer at a time on the roots. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** A file's hash as of a stat: reused while the file's identity, size and change times are what they were. */
interface CachedHash {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

/**
 * File times come from a coarse kernel clock, so a write in the same tick as the hashing may leave them unchanged.
 * Hashes of files changed this recently are not reused (git's "racily clean" rule).
 */
const RACY_WINDOW_MS = 2_000;

/** Files stat'ed and hashed at once within one directory. */
const WALK_CONCURRENCY = 16;

export class Workspace {
  readonly paths: WorkspacePaths;
  private readonly writes = new Mutex();
  /** By real path; rebuilt by every manifest, so files that are gone leave it. */
  private hashes = new Map<string, CachedHash>();
  /** Files read and hashed by manifests so far (the rest came from the cache). */
  filesHashed = 0;

  constructor(
    readonly dir: string,
    readonly limits: Limits,
  ) {
    this.paths = new WorkspacePaths(dir);
  }

  async prepare(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const root of ROOTS) await fs.mkdir(path.join(this.dir, root), { recursive: true });
    // A pod that died mid-upload leaves staging folders behind; nothing in them was ever visible.
    await fs.rm(path.join(this.dir, STAGING_DIR), { recursive: true, force: true });
  }

  async manifest(): Promise<{ files: ManifestEntry[]; skipped: SkippedEntry[] }> {
    const files: ManifestEntry[] = [];
    const skipped: SkippedEntry[] = [];
    const hashes = new Map<string, CachedHash>();
    for (const root of ROOTS) {
      const rootReal = await this.paths.rootReal(root);
      if (rootReal === undefined) continue;
      await this.walk(root, files, skipped, hashes);
    }
    this.hashes = hashes;
    // Sorted by UTF-16 code unit order like every JS sort; the .NET side sorts ordinally too.
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, skipped };
  }

  private async walk(relativeDir: string, files: ManifestEntry[], skipped: SkippedEntry[], hashes: Map<string, CachedHash>): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(this.paths.absolute(relativeDir), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const visit = async (entry: (typeof entries)[number]): Promise<void> => {
      const relative = `${relativeDir}/${entry.name}`;
      try {
        validateRelativePath(relative);
      } catch (error) {
        skipped.push({ path: relative, reason: (error as Error).message });
        return;
      }
      if (entry.isDirectory()) {
        await this.walk(relative, files, skipped, hashes);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        try {
          // A regular file met on a walk down real folders from the real root is inside it already; only a symlink
          // (or an entry that turned into one since the folder was read) needs resolving and checking.
          let hashed: { sha256: string; size: number } | undefined;
          if (entry.isFile()) {
            const absolute = this.paths.absolute(relative);
            // Synchronous on purpose: a cached stat costs microseconds, while a promise round trip through libuv's
            // thread pool costs tens of them, and a walk makes one per file.
            const stat = lstatSync(absolute, { throwIfNoEntry: false });
            if (stat?.isFile()) hashed = await this.hash(absolute, stat, hashes);
          }
          if (hashed === undefined) {
            const real = await this.paths.resolveExistingFile(relative);
            hashed = await this.hash(real, await fs.stat(real), hashes);
          }
          files.push({ path: relative, ...hashed });
        } catch (error) {
          if (error instanceof FileMissingError) {
            if (entry.isSymbolicLink()) skipped.push({ path: relative, reason: 'dangling symlink' });
            return;
          }
          if (error instanceof PodError) {
            skipped.push({ path: relative, reason: error.message });
            return;
          }
          throw error;
        }
      } else {
        skipped.push({ path: relative, reason: 'not a regular file' });
      }
    };
    for (let start = 0; start < entries.length; start += WALK_CONCURRENCY) {
      await Promise.all(entries.slice(start, start + WALK_CONCURRENCY).map(visit));
    }
  }

  /** The file's sha256 and size: from the last manifest when the file is unchanged since `stat`, else read and hashed. */
  private async hash(real: string, stat: Stats, hashes: Map<string, CachedHash>): Promise<{ sha256: string; size: number }> {
    const cached = this.hashes.get(real);
    if (cached !== undefined && cached.ino === stat.ino && cached.size === stat.size
      && cached.mtimeMs === stat.mtimeMs && cached.ctimeMs === stat.ctimeMs) {
      hashes.set(real, cached);
      return { sha256: cached.sha256, size: stat.size };
    }
    const startedMs = Date.now();
    const hashed = await hashFile(real);
    this.filesHashed++;
    // The stat taken before the read describes what was hashed only if the file did not change meanwhile; a change
    // moves ctime past it (and the next manifest hashes again), unless it fell in the same tick: hence the window.
    if (hashed.size === stat.size && stat.ctimeMs < startedMs - RACY_WINDOW_MS && stat.mtimeMs < startedMs - RACY_WINDOW_MS) {
      hashes.set(real, { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, sha256: hashed.sha256 });
    }
    return hashed;
  }

  /** Checks every path before the first byte is sent, so a bad request is a clean 4xx rather than a cut-off tar. */
  async readTar(candidates: unknown): Promise<AsyncIterable<unknown>> {
    const relatives = pathList(candidates, this.limits.maxEntries);
    const resolved: { relative: string; real: string }[] = [];
    const missing: string[] = [];
    for (const relative of relatives) {
      try {
        resolved.push({ relative, real: await this.paths.resolveExistingFile(relative) });
      } catch (error) {
        if (error instanceof FileMissingError) missing.push(relative);
        else throw error;
      }
    }
    if (missing.length > 0) {
      throw new PodError(404, 'file-not-found', 'File not found', `no such file: ${missing.join(', ')}`, { paths: missing });
    }
    const pack = tar.pack();
    const maxFileBytes = this.limits.maxFileBytes;
    void (async () => {
      try {
        for (const { relative, real } of resolved) {
          // Whole-file reads keep the header's size equal to the bytes sent even if the agent rewrites the file meanwhile.
          const content = await fs.readFile(real);
          if (content.length > maxFileBytes) throw new Error(`${relative} grew past the ${maxFileBytes}-byte limit`);
          await new Promise<void>((resolve, reject) =>
            pack.entry({ name: relative, size: content.length, mode: 0o644, mtime: new Date(0) }, content, (error) =>
              error ? reject(error) : resolve(),
            ),
          );
        }
        pack.finalize();
      } catch (error) {
        pack.destroy(error as Error);
      }
    })();
    return pack;
  }

  /**
   * Hydrate: unpacks a tar into a staging folder, validating every entry as it arrives, and only when the whole
   * stream was good renames the files into place. A refused or broken stream leaves the roots untouched.
   */
  async writeTar(body: Readable): Promise<{ written: string[] }> {
    return this.writes.run(async () => {
      const staging = path.join(this.dir, STAGING_DIR, randomUUID());
      await fs.mkdir(staging, { recursive: true });
      try {
        const staged = await this.stage(body, staging);
        await this.checkTargets(staged);
        for (const [relative, stagedFile] of staged) {
          const target = this.paths.absolute(relative);
          await fs.mkdir(path.dirname(target), { recursive: true });
          await fs.rename(stagedFile, target);
        }
        return { written: [...staged.keys()].sort() };
      } finally {
        await fs.rm(staging, { recursive: true, force: true });
        await fs.rmdir(path.dirname(staging)).catch(() => undefined);
      }
    });
  }

  private async stage(body: Readable, staging: string): Promise<Map<string, string>> {
    const limits = this.limits;
    const staged = new Map<string, string>();
    const extract = tar.extract();
    // Tar padding and headers add a little to the payload; anything far beyond the limit is refused unread.
    const counter = new ByteLimit(limits.maxTotalBytes + 16 * 1024 * 1024);
    // The body is piped rather than put in the pipeline: a pipeline would destroy the request on a refusal and the
    // client would see a reset instead of the problem response. Node discards the unread rest once we answer.
    body.pipe(counter);
    body.on('error', (error) => counter.destroy(error));
    const feeding = pipeline(counter, extract);
    feeding.catch(() => undefined);
    let total = 0;
    let index = 0;
    try {
      for await (const entry of extract) {
        const header = entry.header;
        const type: string = header.type ?? 'file';
        if (type === 'pax-global-header') {
          entry.resume();
          continue;
        }
        if (++index > limits.maxEntries) throw badRequest(`the tar has more than ${limits.maxEntries} entries`);
        if (type === 'directory') {
          const name = header.name.replace(/\/$/, '');
          if (!(ROOTS as readonly string[]).includes(name)) validateRelativePath(name);
          entry.resume();
          continue;
        }
        const relative = validateRelativePath(header.name);
        if (type !== 'file' && type !== 'contiguous-file') {
          throw invalidPath(relative, `entry type '${type}' is not allowed; only regular files are accepted`);
        }
        const size = header.size ?? 0;
        if (size > limits.maxFileBytes) {
          throw new PodError(413, 'file-too-large', 'File too large', `${relative} is ${size} bytes; the limit is ${limits.maxFileBytes}`, {
            path: relative,
          });
        }
        total += size;
        if (total > limits.maxTotalBytes) {
          throw new PodError(413, 'upload-too-large', 'Upload too large', `the tar holds more than ${limits.maxTotalBytes} bytes of files`);
        }
        const stagedFile = path.join(staging, String(index));
        // Plain iteration: tar-stream's entries are streamx streams, whose errors node's pipeline() can miss.
        const handle = await fs.open(stagedFile, 'wx', 0o644);
        try {
          for await (const chunk of entry) await handle.write(chunk as Buffer);
        } finally {
          await handle.close();
        }
        staged.delete(relative);
        staged.set(relative, stagedFile);
      }
      await feeding;
    } catch (error) {
      body.unpipe(counter);
      extract.destroy();
      const feedError: unknown = await feeding.then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error instanceof PodError) throw error;
      if (feedError instanceof PodError) throw feedError;
      throw badRequest(`the body is not a readable tar stream: ${(error as Error).message}`);
    }
    return staged;
  }

  private async checkTargets(staged: Map<string, string>): Promise<void> {
    const names = new Set(staged.keys());
    for (const relative of names) {
      const segments = relative.split('/');
      for (let depth = 2; depth < segments.length; depth++) {
        const prefix = segments.slice(0, depth).join('/');
        if (names.has(prefix)) {
          throw new PodError(409, 'path-conflict', 'Path conflict', `${prefix} is both a file and a folder in the upload`, { path: prefix });
        }
      }
      const target = await this.paths.checkParents(relative);
      try {
        const stat = await fs.lstat(target);
        if (stat.isDirectory()) {
          throw new PodError(409, 'path-conflict', 'Path conflict', `${relative} is a folder in the workspace; delete it first`, {
            path: relative,
          });
        }
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
  }

  async delete(candidates: unknown): Promise<{ deleted: string[]; missing: string[] }> {
    const relatives = pathList(candidates, this.limits.maxEntries);
    return this.writes.run(async () => {
      const targets: { relative: string; target: string; exists: boolean }[] = [];
      for (const relative of relatives) {
        const target = await this.paths.checkParents(relative);
        let exists = true;
        try {
          const stat = await fs.lstat(target);
          if (stat.isDirectory()) throw invalidPath(relative, 'it is a folder; delete the files inside it');
        } catch (error) {
          if (!isMissing(error) && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
          exists = false;
        }
        targets.push({ relative, target, exists });
      }
      const deleted: string[] = [];
      const missing: string[] = [];
      for (const { relative, target, exists } of targets) {
        if (!exists) {
          missing.push(relative);
          continue;
        }
        await fs.unlink(target).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
        deleted.push(relative);
        await this.pruneEmptyParents(relative);
      }
      return { deleted, missing };
    });
  }

  private async pruneEmptyParents(relative: string): Promise<void> {
    const rootDir = this.paths.absolute(rootOf(relative));
    let dir = path.dirname(this.paths.absolute(relative));
    while (dir !== rootDir && isInside(rootDir, dir)) {
      try {
        await fs.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

function pathList(candidates: unknown, maxEntries: number): string[] {
  if (!Array.isArray(candidates)) throw badRequest(`'paths' must be an array of strings, got ${describe(candidates)}`);
  if (candidates.length === 0) throw badRequest("'paths' is empty");
  if (candidates.length > maxEntries) throw badRequest(`'paths' has more than ${maxEntries} entries`);
  const seen = new Set<string>();
  for (const candidate of candidates) {
    const relative = validateRelativePath(candidate);
    if (seen.has(relative)) throw badRequest(`'paths' names ${relative} twice`);
    seen.add(relative);
  }
  return [...seen];
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Passes bytes through until a limit, then fails: a tar header can lie about sizes, the byte count cannot. */
class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      callback(new PodError(413, 'upload-too-large', 'Upload too large', `more than ${this.limit} bytes`));
      return;
    }
    callback(null, chunk);
  }
}
