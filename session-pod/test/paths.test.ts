import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PodError } from '../src/errors.js';
import { FileMissingError, WorkspacePaths, validateRelativePath } from '../src/paths.js';
import { tempDir, writeFiles } from './helpers.js';

function refused(candidate: unknown, reason: RegExp): void {
  assert.throws(
    () => validateRelativePath(candidate),
    (error: unknown) => error instanceof PodError && error.status === 400 && error.type === 'invalid-path' && reason.test(error.message),
    `expected ${JSON.stringify(candidate)} to be refused with ${reason}`,
  );
}

describe('validateRelativePath', () => {
  it('accepts canonical paths inside a root', () => {
    for (const ok of ['src/main.tsx', 'src/components/Title.tsx', '.claude/projects/-workspace/abc.jsonl', 'src/ünïcode/名前.tsx', 'src/.hidden', 'src/a..b']) {
      assert.equal(validateRelativePath(ok), ok);
    }
  });

  it('refuses traversal', () => {
    refused('..', /'\.\.'|roots/);
    refused('src/../etc/passwd', /'\.\.' segments/);
    refused('src/a/..', /'\.\.' segments/);
    refused('src/./a', /'\.' segments/);
  });

  it('refuses absolute and drive paths', () => {
    refused('/etc/passwd', /absolute/);
    refused('/src/a.tsx', /absolute/);
    refused('C:/src/a.tsx', /absolute/);
  });

  it('refuses backslashes and empty segments', () => {
    refused('src\\a.tsx', /forward slashes/);
    refused('src//a.tsx', /empty segment/);
    refused('src/a/', /empty segment/);
  });

  it('refuses NUL bytes and control characters', () => {
    refused('src/a\u0000.tsx', /NUL/);
    refused('src/a\n.tsx', /control character/);
  });

  it('refuses paths outside the roots and the roots themselves', () => {
    refused('node_modules/react/index.js', /inside one of the roots/);
    refused('index.html', /inside one of the roots/);
    refused('.claude', /names a root/);
    refused('src', /names a root/);
  });

  it('refuses over-long paths and segments', () => {
    refused(`src/${'a/'.repeat(600)}b`, /longer than 1024 bytes/);
    refused(`src/${'x'.repeat(256)}`, /segment is longer than 255/);
    assert.equal(validateRelativePath(`src/${'x'.repeat(255)}`).length, 259);
  });

  it('refuses non-strings and empty strings', () => {
    refused(42, /must be a string/);
    refused(null, /must be a string/);
    refused('', /empty/);
  });
});

describe('path rules shared with the sync worker', () => {
  // Read from the source folder (this file runs from dist/test/). StoryDream.Tests runs the same cases against the worker's SnapshotPath: a name one side refuses, the other does too.
  const fixture = JSON.parse(readFileSync(new URL('../../test/support/path-cases.json', import.meta.url), 'utf8')) as {
    cases: { path: string; valid: boolean; why: string }[];
  };

  it('refuses a lone surrogate (not in the JSON, which .NET cannot read with one)', () => {
    refused('src/a\ud800b.ts', /lone surrogate/);
  });

  it('has cases of both kinds', () => {
    assert.ok(fixture.cases.some((c) => c.valid) && fixture.cases.some((c) => !c.valid));
  });

  for (const { path: candidate, valid, why } of fixture.cases) {
    it(`${valid ? 'accepts' : 'refuses'} ${why}`, () => {
      if (valid) assert.equal(validateRelativePath(candidate), candidate);
      else refused(candidate, /./);
    });
  }
});

describe('WorkspacePaths', () => {
  it('follows a symlink that stays inside its root', async () => {
    const ws = await tempDir();
    await writeFiles(ws, { 'src/real.txt': 'hi' });
    await fs.symlink('real.txt', path.join(ws, 'src', 'alias.txt'));
    const paths = new WorkspacePaths(ws);
    assert.equal(await paths.resolveExistingFile('src/alias.txt'), path.join(ws, 'src', 'real.txt'));
  });

  it('refuses a file symlink that leaves its root', async () => {
    const ws = await tempDir();
    const outside = await tempDir();
    await writeFiles(outside, { 'secret.txt': 'secret' });
    await writeFiles(ws, { 'src/ok.txt': 'ok', '.claude/note.txt': 'n' });
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(ws, 'src', 'leak.txt'));
    await fs.symlink('../.claude/note.txt', path.join(ws, 'src', 'cross-root.txt'));
    const paths = new WorkspacePaths(ws);
    await assert.rejects(paths.resolveExistingFile('src/leak.txt'), /symlink that leads out of src\//);
    await assert.rejects(paths.resolveExistingFile('src/cross-root.txt'), /symlink that leads out of src\//);
  });

  it('refuses a folder symlink on the way out of the root, for reads and writes', async () => {
    const ws = await tempDir();
    const outside = await tempDir();
    await writeFiles(outside, { 'secret.txt': 'secret' });
    await writeFiles(ws, { 'src/ok.txt': 'ok' });
    await fs.symlink(outside, path.join(ws, 'src', 'out'));
    const paths = new WorkspacePaths(ws);
    await assert.rejects(paths.resolveExistingFile('src/out/secret.txt'), /leads out of src\//);
    await assert.rejects(paths.checkParents('src/out/new.txt'), /leads out of src\//);
    await assert.rejects(paths.checkParents('src/out/deeper/new.txt'), /leads out of src\//);
  });

  it('refuses a root that is itself a symlink', async () => {
    const ws = await tempDir();
    const outside = await tempDir();
    await writeFiles(outside, { 'a.txt': 'a' });
    await fs.symlink(outside, path.join(ws, 'src'));
    const paths = new WorkspacePaths(ws);
    await assert.rejects(paths.resolveExistingFile('src/a.txt'), /not a real folder/);
  });

  it('reports a missing file as missing and a file used as a folder as invalid', async () => {
    const ws = await tempDir();
    await writeFiles(ws, { 'src/a.txt': 'a' });
    const paths = new WorkspacePaths(ws);
    await assert.rejects(paths.resolveExistingFile('src/none.txt'), FileMissingError);
    await assert.rejects(paths.checkParents('src/a.txt/b.txt'), /is a file, not a folder/);
  });
});
