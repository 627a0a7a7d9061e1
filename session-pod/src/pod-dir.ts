import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMissing } from './paths.js';

/** The session-pod folder: its `preview/` scaffolding and `node_modules` are fixed, shared by every session. */
export const POD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Points the workspace's `node_modules` at `target`: the preview's packages, or the render mode's. */
export async function linkNodeModules(workspaceDir: string, target = path.join(POD_DIR, 'node_modules')): Promise<void> {
  const link = path.join(workspaceDir, 'node_modules');
  try {
    const stat = await fs.lstat(link);
    if (!stat.isSymbolicLink()) return;
    if ((await fs.readlink(link)) === target) return;
    await fs.unlink(link);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  await fs.symlink(target, link, 'dir');
}
