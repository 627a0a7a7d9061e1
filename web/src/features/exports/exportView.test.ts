import { describe, expect, it } from 'vitest';
import type { ExportJob } from '../../lib/api/client';
import { describeProgress, formatDuration, formatSize, isActive } from './exportView';

const job = (status: string, extra: Partial<ExportJob> = {}): ExportJob =>
  ({ id: 'e', projectId: 'p', status, progress: 0, lastUpdate: '', snapshotId: 's', codec: 'h264', attempt: 1, createdAt: '', ...extra }) as ExportJob;

describe('exportView', () => {
  it('counts queued, rendering and uploading exports as active, and no others', () => {
    expect(['queued', 'rendering', 'uploading'].map((s) => isActive(job(s)))).toEqual([true, true, true]);
    expect(['complete', 'failed', 'canceled'].map((s) => isActive(job(s)))).toEqual([false, false, false]);
  });

  it('describes progress and names the error of a failed export', () => {
    expect(describeProgress(job('rendering', { progress: 42 }))).toBe('Rendering 42%');
    expect(describeProgress(job('failed', { error: 'The render pod ran out of memory.' }))).toBe('Failed: The render pod ran out of memory.');
    expect(describeProgress(job('canceled'))).toBe('Cancelled');
  });

  it('formats sizes and durations a person reads', () => {
    expect(formatSize(undefined)).toBe('—');
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(3 * 1024 * 1024 + 300 * 1024)).toBe('3.3 MB');
    expect(formatDuration(5_400)).toBe('5 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });
});
