import { lstatSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { invalidPath } from './errors.js';

/** The workspace folders that belong to the project and are synced; everything else in the workspace is the pod's. */
// public/ holds uploaded assets (issue 17), served as the preview's and the render's public folder for staticFile().
export const ROOTS = ['src', '.claude', 'public'] as const;
export type Root = (typeof ROOTS)[number];

export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;

// Control characters (C0, DEL and C1) are legal in Linux names but break logs, tar headers and the object store's listing.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a workspace-relative path as written by a client: it must already be canonical
 * (`src/a/b.tsx`), so one file has exactly one name and nothing is normalized behind the caller's back.
 * The sync worker applies the same rules (StoryDream.Snapshots/SnapshotPath.cs): a name it would refuse is never
 * offered to it. Both test suites run the cases of test/support/path-cases.json.
 */
export function validateRelativePath(candidate: unknown): string {
  if (typeof candidate !== 'string') throw invalidPath(candidate, 'a path must be a string');
  if (candidate === '') throw invalidPath(candidate, 'the path is empty');
  if (candidate.includes('\u0000')) throw invalidPath(candidate, 'it contains a NUL byte');
  if (CONTROL.test(candidate)) throw invalidPath(candidate, 'it contains a control character');
  if (Buffer.byteLength(candidate, 'utf8') > MAX_PATH_BYTES) {
    throw invalidPath(candidate, `it is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (candidate.includes('\\')) throw invalidPath(candidate, 'paths use forward slashes only');
  if (LONE_SURROGATE.test(candidate)) throw invalidPath(candidate, 'it is not valid Unicode (a lone surrogate)');
  // An NFD name and its NFC twin would be two files here and one on macOS.
  if (candidate.normalize('NFC') !== candidate) throw invalidPath(candidate, 'it is not in Unicode normalization form C');
  if (candidate.startsWith('/') || /^[a-zA-Z]:/.test(candidate)) throw invalidPath(candidate, 'absolute paths are not allowed');
  const segments = candidate.split('/');
  for (const segment of segments) {
    if (segment === '') throw invalidPath(candidate, 'it has an empty segment (a doubled, leading or trailing slash)');
    if (segment === '..') throw invalidPath(candidate, "'..' segments are not allowed");
    if (segment === '.') throw invalidPath(candidate, "'.' segments are not allowed");
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      throw invalidPath(candidate, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  if (!(ROOTS as readonly string[]).includes(segments[0]!)) {
    throw invalidPath(candidate, `it must be inside one of the roots ${ROOTS.map((r) => `${r}/`).join(', ')}`);
  }
  if (segments.length < 2) throw invalidPath(candidate, 'it names a root, not a file inside it');
  return candidate;
}

export function rootOf(relative: string): Root {
  return relative.split('/')[0] as Root;
}

export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Where a validated path lives on disk, after checking that no symlink on the way leads out of its root.
 * The root folder itself must be a real folder: a root replaced by a symlink would move the whole tree.
 * The file system calls are synchronous on purpose: each costs microseconds, while a trip through libuv's thread pool
 * costs a hundred or more, and far more on a busy machine; a sync's manifest and read make several per request.
 */
export class WorkspacePaths {
  constructor(readonly workspaceDir: string) {}

  absolute(relative: string): string {
    return path.join(this.workspaceDir, ...relative.split('/'));
  }

  async rootReal(root: Root): Promise<string | undefined> {
    const rootDir = path.join(this.workspaceDir, root);
    let stat;
    try {
      stat = lstatSync(rootDir);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!stat.isDirectory()) throw invalidPath(root, `the root ${root}/ is not a real folder in the workspace`);
    const real = realpathSync.native(rootDir);
    if (!isInside(realpathSync.native(this.workspaceDir), real)) throw invalidPath(root, `the root ${root}/ leaves the workspace`);
    return real;
  }

  /**
   * Checks the folders above a path: the deepest one that exists must resolve inside the root and be a folder.
   * Returns the absolute path. Used before writing or deleting, where the final name itself is replaced, not followed.
   */
  async checkParents(relative: string): Promise<string> {
    const root = rootOf(relative);
    const rootReal = await this.rootReal(root);
    const target = this.absolute(relative);
    if (rootReal === undefined) return target;
    const segments = relative.split('/');
    for (let depth = segments.length - 1; depth >= 1; depth--) {
      const ancestor = path.join(this.workspaceDir, ...segments.slice(0, depth));
      let real: string;
      try {
        real = realpathSync.native(ancestor);
      } catch (error) {
        if (isMissing(error) || isNotDirectory(error)) continue;
        throw error;
      }
      if (!isInside(rootReal, real)) throw invalidPath(relative, `a symlink on the way leads out of ${root}/`);
      const stat = statSync(real);
      if (!stat.isDirectory()) throw invalidPath(relative, `${segments.slice(0, depth).join('/')} is a file, not a folder`);
      return target;
    }
    return target;
  }

  /** Resolves an existing file for reading: symlinks are followed only while they stay inside the same root. */
  async resolveExistingFile(relative: string): Promise<string> {
    const target = await this.checkParents(relative);
    const rootReal = await this.rootReal(rootOf(relative));
    let real: string;
    try {
      real = realpathSync.native(target);
    } catch (error) {
      if (isMissing(error) || isNotDirectory(error)) throw new FileMissingError(relative);
      throw error;
    }
    if (rootReal === undefined || !isInside(rootReal, real)) {
      throw invalidPath(relative, `it is a symlink that leads out of ${rootOf(relative)}/`);
    }
    const stat = statSync(real);
    if (!stat.isFile()) throw invalidPath(relative, 'it is not a regular file');
    return real;
  }
}

export class FileMissingError extends Error {
  constructor(readonly relative: string) {
    super(`no such file: ${relative}`);
  }
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export function isNotDirectory(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOTDIR';
}
