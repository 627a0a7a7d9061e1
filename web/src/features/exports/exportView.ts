import type { ExportJob } from '../../lib/api/client';

const ACTIVE = new Set(['queued', 'rendering', 'uploading']);

export const isActive = (job: ExportJob) => ACTIVE.has(job.status);

// The OpenAPI document types 64-bit integers as number or string: the API sends numbers.
type Int64 = number | string | null | undefined;

export function formatSize(value: Int64): string {
  if (value == null) return '—';
  const bytes = Number(value);
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(ms: Int64): string {
  if (ms == null) return '—';
  const seconds = Math.round(Number(ms) / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** What the progress bar says: a queued export has not started, a rendering one counts 0–100. */
export function describeProgress(job: ExportJob): string {
  switch (job.status) {
    case 'queued':
      return 'Waiting for a renderer…';
    case 'rendering':
      return `Rendering ${job.progress}%`;
    case 'uploading':
      return 'Saving the video…';
    case 'complete':
      return 'Complete';
    case 'canceled':
      return 'Cancelled';
    case 'failed':
      return `Failed: ${job.error ?? 'the render did not finish.'}`;
    default:
      return job.status;
  }
}
