import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type DragEvent } from 'react';
import { ProblemMessage } from '../../components/ProblemMessage';
import { describeError } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';
import { formatSize } from '../exports/exportView';

interface Upload {
  key: number;
  name: string;
  progress: number;
  error?: string;
}

const ACCEPT = 'image/*,audio/*,video/*';

/** The project's uploaded images, audio and video (its public/ folder), each usable as staticFile("name"). */
export default function AssetsPanel({ projectId }: { projectId: string }) {
  const api = useApi();
  const client = useQueryClient();
  const assets = useQuery({ queryKey: ['assets', projectId], queryFn: () => api.assets(projectId) });
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const nextKey = useRef(0);
  const remove = useMutation({
    mutationFn: (name: string) => api.deleteAsset(projectId, name),
    onSuccess: () => client.invalidateQueries({ queryKey: ['assets', projectId] }),
  });

  const change = (key: number, patch: Partial<Upload>) => setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...patch } : u)));
  // One at a time: each upload makes a version of the project, and they would otherwise race for the head.
  const send = async (files: File[]) => {
    const started = files.map((file) => ({ key: nextKey.current++, name: file.name, progress: 0 }));
    setUploads((all) => [...all, ...started]);
    for (const [i, file] of files.entries()) {
      const { key } = started[i]!;
      try {
        await api.uploadAsset(projectId, file, (progress) => change(key, { progress }));
        setUploads((all) => all.filter((u) => u.key !== key));
        await client.invalidateQueries({ queryKey: ['assets', projectId] });
      } catch (error) {
        change(key, { error: describeError(error) });
      }
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    void send([...e.dataTransfer.files]);
  };

  const items = assets.data?.items ?? [];
  return (
    <div className="assets">
      <div
        className={`drop-zone${over ? ' over' : ''}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>Drop images, audio or video here, or</p>
        <button type="button" onClick={() => picker.current?.click()}>
          Choose files…
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          accept={ACCEPT}
          hidden
          aria-label="Files to upload"
          onChange={(e) => {
            void send([...(e.target.files ?? [])]);
            e.target.value = '';
          }}
        />
      </div>
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.key}>
              <span>{u.name}</span>
              {u.error ? (
                <>
                  <span role="alert" className="problem">
                    {u.error}
                  </span>
                  <button type="button" onClick={() => setUploads((all) => all.filter((x) => x.key !== u.key))}>
                    Dismiss
                  </button>
                </>
              ) : (
                <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`} />
              )}
            </li>
          ))}
        </ul>
      )}
      {assets.isPending && <p aria-live="polite">Loading assets…</p>}
      {assets.isError && <ProblemMessage error={assets.error} onRetry={() => void assets.refetch()} />}
      {assets.isSuccess && items.length === 0 && <p className="empty">No assets yet. The agent can use what you upload here.</p>}
      {items.length > 0 && (
        <ul className="asset-list" aria-label="Assets">
          {items.map((asset) => (
            <li key={asset.name}>
              <code>{asset.name}</code>
              <span className="muted">
                {asset.contentType}, {formatSize(asset.size)}
              </span>
              <button
                type="button"
                className="danger"
                aria-label={`Delete ${asset.name}`}
                disabled={remove.isPending}
                onClick={() => remove.mutate(asset.name)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      {remove.isError && <ProblemMessage error={remove.error} />}
    </div>
  );
}
