import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ProblemMessage } from '../../components/ProblemMessage';
import type { ExportJob } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';
import { formatDateTime } from '../../lib/format';
import { describeProgress, formatDuration, formatSize, isActive } from './exportView';

/**
 * Exports of the project. Progress is read from the export records (kept in Firestore), polled each second while one
 * is active: no channel relays the render's progress to the browser, and polling survives a refresh by itself.
 */
export default function ExportsPanel({ projectId }: { projectId: string }) {
  const api = useApi();
  const client = useQueryClient();
  const key = ['exports', projectId];
  const exports = useQuery({
    queryKey: key,
    queryFn: () => api.exports(projectId),
    refetchInterval: (query) => (query.state.data?.items.some(isActive) ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: () => api.startExport(projectId),
    onSuccess: () => client.invalidateQueries({ queryKey: key }),
  });
  const items = exports.data?.items ?? [];
  const busy = items.some(isActive);
  return (
    <div className="exports">
      <div className="export-start">
        <button type="button" className="primary" onClick={() => start.mutate()} disabled={start.isPending}>
          {start.isPending ? 'Starting…' : 'Export MP4'}
        </button>
        <span className="muted">{busy ? 'An export is running; you can leave this page and come back.' : 'Renders the current version at 1080p.'}</span>
      </div>
      {start.isError && <ProblemMessage error={start.error} />}
      {exports.isPending && <p aria-live="polite">Loading exports…</p>}
      {exports.isError && <ProblemMessage error={exports.error} onRetry={() => void exports.refetch()} />}
      {exports.isSuccess && items.length === 0 && <p className="empty">No exports yet.</p>}
      {items.length > 0 && (
        <ul className="export-list" aria-label="Exports, newest first">
          {items.map((job) => (
            <ExportRow key={job.id} projectId={projectId} job={job} />
          ))}
        </ul>
      )}
    </div>
  );
}

function ExportRow({ projectId, job }: { projectId: string; job: ExportJob }) {
  const api = useApi();
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => api.cancelExport(projectId, job.id),
    onSuccess: () => client.invalidateQueries({ queryKey: ['exports', projectId] }),
  });
  const active = isActive(job);
  return (
    <li className="export-row" data-status={job.status}>
      <div className="export-head">
        <strong>{formatDateTime(job.createdAt)}</strong>
        <span role="status">{describeProgress(job)}</span>
      </div>
      {active && (
        <progress max={100} value={job.status === 'queued' ? undefined : job.progress} aria-label={`Export progress ${job.progress}%`}>
          {job.progress}%
        </progress>
      )}
      <div className="export-meta muted">
        <span>Size {formatSize(job.size)}</span>
        <span>Length {formatDuration(job.durationMs)}</span>
      </div>
      <div className="row-actions">
        {job.status === 'complete' && <DownloadButton projectId={projectId} job={job} />}
        {active && (
          <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            Cancel export
          </button>
        )}
      </div>
      {cancel.isError && <ProblemMessage error={cancel.error} />}
    </li>
  );
}

function DownloadButton({ projectId, job }: { projectId: string; job: ExportJob }) {
  const api = useApi();
  const download = useMutation({
    mutationFn: () => api.exportLink(projectId, job.id),
    // The link names the file (Content-Disposition); `download` keeps a same-origin link from opening in the page.
    onSuccess: (link) => {
      const a = document.createElement('a');
      a.href = link.url;
      a.download = `${job.id}.mp4`;
      a.click();
    },
  });
  return (
    <>
      <button type="button" onClick={() => download.mutate()} disabled={download.isPending}>
        {download.isPending ? 'Downloading…' : 'Download MP4'}
      </button>
      {download.isError && <ProblemMessage error={download.error} />}
    </>
  );
}
