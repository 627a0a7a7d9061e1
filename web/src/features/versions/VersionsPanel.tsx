import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { diffLines } from 'diff';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ProblemMessage } from '../../components/ProblemMessage';
import type { FileEntry, Snapshot } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';
import { formatDateTime } from '../../lib/format';
import { projectsKey } from '../projects/useProjects';

interface Props {
  projectId: string;
  onRestoreStarted(): void;
  onRestored(): void;
}

export default function VersionsPanel({ projectId, onRestoreStarted, onRestored }: Props) {
  const api = useApi();
  const client = useQueryClient();
  const navigate = useNavigate();
  const history = useQuery({ queryKey: ['snapshots', projectId], queryFn: () => api.snapshots(projectId) });
  const [selected, setSelected] = useState<Snapshot | null>(null);
  const [confirming, setConfirming] = useState<Snapshot | null>(null);
  const restore = useMutation({
    mutationFn: (snapshot: Snapshot) => api.restore(projectId, snapshot.id),
    onMutate: onRestoreStarted,
    onSuccess: () => {
      setConfirming(null);
      void client.invalidateQueries({ queryKey: ['snapshots', projectId] });
      void client.invalidateQueries({ queryKey: ['files', projectId] });
      onRestored();
    },
    onError: onRestored,
  });
  const fork = useMutation({
    mutationFn: (snapshot: Snapshot) => api.fork(projectId, snapshot.id),
    onSuccess: (project) => {
      void client.invalidateQueries({ queryKey: projectsKey });
      navigate(`/projects/${project.id}`);
    },
  });

  if (history.isPending) return <p aria-live="polite">Loading versions…</p>;
  if (history.isError) return <ProblemMessage error={history.error} onRetry={() => void history.refetch()} />;
  const items = history.data.items;
  return (
    <div className="versions">
      <ol className="version-list" aria-label="Versions, newest first">
        {items.map((snapshot, index) => (
          <li key={snapshot.entryId} className={selected?.entryId === snapshot.entryId ? 'selected' : ''}>
            <button type="button" className="version" aria-pressed={selected?.entryId === snapshot.entryId} onClick={() => setSelected(snapshot)}>
              <span className="version-message">{snapshot.message}</span>
              <span className="muted">
                {snapshot.author} · {formatDateTime(snapshot.createdAt)} · +{snapshot.changes.added} ~{snapshot.changes.modified} −{snapshot.changes.deleted}
                {index === 0 ? ' · current' : ''}
              </span>
            </button>
          </li>
        ))}
      </ol>
      {selected && (
        <div className="version-detail">
          <div className="version-actions">
            <button type="button" onClick={() => setConfirming(selected)} disabled={restore.isPending}>
              Restore this version
            </button>
            <button type="button" onClick={() => fork.mutate(selected)} disabled={fork.isPending}>
              {fork.isPending ? 'Forking…' : 'Start a new project from this version'}
            </button>
          </div>
          {fork.isError && <ProblemMessage error={fork.error} />}
          {restore.isError && <ProblemMessage error={restore.error} />}
          <VersionDiff projectId={projectId} snapshot={selected} />
        </div>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title="Restore this version?"
        confirmLabel="Restore"
        busy={restore.isPending}
        onCancel={() => setConfirming(null)}
        onConfirm={() => confirming && restore.mutate(confirming)}
      >
        <p>
          The project’s files go back to “{confirming?.message}”. The current files stay in the history as a version of
          their own, so nothing is lost.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function VersionDiff({ projectId, snapshot }: { projectId: string; snapshot: Snapshot }) {
  const api = useApi();
  const files = useQuery({ queryKey: ['files', projectId, snapshot.id], queryFn: () => api.files(projectId, snapshot.id), staleTime: Infinity });
  const parentFiles = useQuery({
    queryKey: ['files', projectId, snapshot.parentId],
    queryFn: () => (snapshot.parentId ? api.files(projectId, snapshot.parentId) : Promise.resolve([] as FileEntry[])),
    staleTime: Infinity,
  });
  if (files.isPending || parentFiles.isPending) return <p aria-live="polite">Loading changes…</p>;
  if (files.isError) return <ProblemMessage error={files.error} />;
  if (parentFiles.isError) return <ProblemMessage error={parentFiles.error} />;
  const changed = changedFiles(parentFiles.data, files.data);
  if (changed.length === 0) return <p>No file changed in this version.</p>;
  return (
    <div className="diffs">
      <h3>Files changed ({changed.length})</h3>
      {changed.map((change) => (
        <FileDiff key={change.path} projectId={projectId} change={change} snapshot={snapshot} />
      ))}
    </div>
  );
}

interface Change {
  path: string;
  kind: 'added' | 'modified' | 'deleted';
}

export function changedFiles(before: FileEntry[], after: FileEntry[]): Change[] {
  const old = new Map(before.map((f) => [f.path, f.sha256]));
  const now = new Map(after.map((f) => [f.path, f.sha256]));
  const changes: Change[] = [];
  for (const [path, sha] of now) {
    if (!old.has(path)) changes.push({ path, kind: 'added' });
    else if (old.get(path) !== sha) changes.push({ path, kind: 'modified' });
  }
  for (const path of old.keys()) if (!now.has(path)) changes.push({ path, kind: 'deleted' });
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}

function FileDiff({ projectId, change, snapshot }: { projectId: string; change: Change; snapshot: Snapshot }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const texts = useQuery({
    queryKey: ['diff', projectId, snapshot.id, snapshot.parentId, change.path],
    enabled: open,
    staleTime: Infinity,
    queryFn: async () => {
      const before = change.kind === 'added' || !snapshot.parentId ? '' : await api.fileText(projectId, change.path, snapshot.parentId);
      const after = change.kind === 'deleted' ? '' : await api.fileText(projectId, change.path, snapshot.id);
      return diffLines(before, after);
    },
  });
  return (
    <details className="file-diff" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        <span className={`change change-${change.kind}`}>{change.kind}</span> {change.path}
      </summary>
      {texts.isPending && open && <p>Loading diff…</p>}
      {texts.isError && <ProblemMessage error={texts.error} />}
      {texts.data && (
        <pre className="diff" aria-label={`Changes to ${change.path}`} tabIndex={0}>
          {texts.data.map((part, i) => (
            <span key={i} className={part.added ? 'added' : part.removed ? 'removed' : 'same'}>
              {part.value
                .replace(/\n$/, '')
                .split('\n')
                .map((line) => `${part.added ? '+' : part.removed ? '-' : ' '} ${line}`)
                .join('\n') + '\n'}
            </span>
          ))}
        </pre>
      )}
    </details>
  );
}
