import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
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

/** Files hashed at once (through libuv's pool) once a manifest's synchronous budget is spent. */
const WALK_CONCURRENCY = 16;

/**
 * Changed files a manifest reads and hashes synchronously, in the walk itself: the usual few edited files cost no trip
 * through libuv's pool (a hundred microseconds or more each, several per file), while a whole new tree (the first
 * manifest after a hydrate) still goes in chunks, so the event loop is never held for long.
 */
const SYNC_HASH_MAX_FILE_BYTES = 256 * 1024;
const SYNC_HASH_BUDGET_BYTES = 1024 * 1024;

/** Files up to this size are read for a tar in one synchronous call. */
const SYNC_READ_MAX_BYTES = 1024 * 1024;

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
    const slow: (() => Promise<void>)[] = [];
    const budget = { syncHashBytes: SYNC_HASH_BUDGET_BYTES };
    for (const root of ROOTS) {
      const rootReal = await this.paths.rootReal(root);
      if (rootReal === undefined) continue;
      this.walk(root, this.paths.absolute(root), files, skipped, hashes, slow, budget);
    }
    // Files to read and hash, and symlinks to resolve, go through libuv's pool a few at a time.
    for (let start = 0; start < slow.length; start += WALK_CONCURRENCY) {
      await Promise.all(slow.slice(start, start + WALK_CONCURRENCY).map((work) => work()));
    }
    this.hashes = hashes;
    // Sorted by UTF-16 code unit order like every JS sort; the .NET side sorts ordinally too.
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, skipped };
  }

  /**
   * Lists a folder and everything below it. Synchronous on purpose: an unchanged file costs one lstat of a few
   * microseconds, while a promise round trip through libuv's pool costs tens of them, and a walk makes one per file.
   * Only what needs more (a file to hash, a symlink to resolve) is left in `slow`, for the caller to run.
   */
  private walk(relativeDir: string, absoluteDir: string, files: ManifestEntry[], skipped: SkippedEntry[],
    hashes: Map<string, CachedHash>, slow: (() => Promise<void>)[], budget: { syncHashBytes: number }): void {
    let entries;
    try {
      entries = readdirSync(absoluteDir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const relative = `${relativeDir}/${entry.name}`;
      try {
        validateRelativePath(relative);
      } catch (error) {
        skipped.push({ path: relative, reason: (error as Error).message });
        continue;
      }
      // A valid name is one plain segment, so appending it keeps the path as normalized as path.join would.
      const absolute = `${absoluteDir}/${entry.name}`;
      if (entry.isDirectory()) {
        this.walk(relative, absolute, files, skipped, hashes, slow, budget);
      } else if (entry.isFile()) {
        // A regular file met on a walk down real folders from the real root is inside it already; only a symlink
        // (or an entry that turned into one since the folder was read) needs resolving and checking.
        const stat = lstatSync(absolute, { throwIfNoEntry: false });
        if (stat?.isFile() && stat.size > this.limits.maxFileBytes) {
          skipped.push({ path: relative, reason: this.tooLarge(stat.size) });
          continue;
        }
        const cached = stat?.isFile() ? this.cachedHash(absolute, stat, hashes) : undefined;
        if (cached !== undefined) {
          files.push({ path: relative, sha256: cached, size: stat!.size });
        } else if (stat?.isFile() && stat.size <= SYNC_HASH_MAX_FILE_BYTES && stat.size <= budget.syncHashBytes) {
          budget.syncHashBytes -= stat.size;
          const hashed = this.hashSync(absolute, stat, hashes);
          if (hashed !== undefined) files.push({ path: relative, ...hashed });
        } else if (stat?.isFile()) {
          slow.push(() => this.visitSlowly(relative, false, files, skipped, hashes, () => this.hash(absolute, stat, hashes)));
        } else {
          slow.push(() => this.visitSlowly(relative, false, files, skipped, hashes));
        }
      } else if (entry.isSymbolicLink()) {
        slow.push(() => this.visitSlowly(relative, true, files, skipped, hashes));
      } else {
        skipped.push({ path: relative, reason: 'not a regular file' });
      }
    }
  }

  /** A file whose hash is not cached, or a name to resolve first (a symlink, or an entry that changed kind meanwhile). */
  private async visitSlowly(relative: string, isSymlink: boolean, files: ManifestEntry[], skipped: SkippedEntry[],
    hashes: Map<string, CachedHash>, hashKnownFile?: () => Promise<{ sha256: string; size: number }>): Promise<void> {
    try {
      let hashed = await hashKnownFile?.();
      if (hashed === undefined) {
        const real = await this.paths.resolveExistingFile(relative);
        const stat = statSync(real);
        if (stat.size > this.limits.maxFileBytes) {
          skipped.push({ path: relative, reason: this.tooLarge(stat.size) });
          return;
        }
        hashed = await this.hash(real, stat, hashes);
      }
      files.push({ path: relative, ...hashed });
    } catch (error) {
      if (error instanceof FileMissingError) {
        if (isSymlink) skipped.push({ path: relative, reason: 'dangling symlink' });
        return;
      }
      if (error instanceof PodError) {
        skipped.push({ path: relative, reason: error.message });
        return;
      }
      throw error;
    }
  }

  /** Files over the limit stay out of the manifest, listed as skipped: one such file must not stop every later sync. */
  private tooLarge(size: number): string {
    return `it is ${size} bytes; the limit is ${this.limits.maxFileBytes} bytes per file`;
  }

  /** The hash the last manifest found for this file, if the file is unchanged since; recorded for the next manifest. */
  private cachedHash(real: string, stat: Stats, hashes: Map<string, CachedHash>): string | undefined {
    const cached = this.hashes.get(real);
    if (cached !== undefined && cached.ino === stat.ino && cached.size === stat.size
      && cached.mtimeMs === stat.mtimeMs && cached.ctimeMs === stat.ctimeMs) {
      hashes.set(real, cached);
      return cached.sha256;
    }
    return undefined;
  }

  /** The file's sha256 and size: from the last manifest when the file is unchanged since `stat`, else read and hashed. */
  private async hash(real: string, stat: Stats, hashes: Map<string, CachedHash>): Promise<{ sha256: string; size: number }> {
    const cached = this.cachedHash(real, stat, hashes);
    if (cached !== undefined) return { sha256: cached, size: stat.size };
    const startedMs = Date.now();
    return this.remember(real, stat, hashes, startedMs, await hashFile(real));
  }

  /** {@link hash} with one synchronous read; undefined when the file vanished since its stat (it is then not listed). */
  private hashSync(real: string, stat: Stats, hashes: Map<string, CachedHash>): { sha256: string; size: number } | undefined {
    const startedMs = Date.now();
    let content: Buffer;
    try {
      content = readFileSync(real);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    return this.remember(real, stat, hashes, startedMs, { sha256: createHash('sha256').update(content).digest('hex'), size: content.length });
  }

  private remember(real: string, stat: Stats, hashes: Map<string, CachedHash>, startedMs: number,
    hashed: { sha256: string; size: number }): { sha256: string; size: number } {
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
          const content = statSync(real).size <= SYNC_READ_MAX_BYTES ? readFileSync(real) : await fs.readFile(real);
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
