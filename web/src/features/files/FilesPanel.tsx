import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { highlight } from 'sugar-high';
import { ProblemMessage } from '../../components/ProblemMessage';
import type { FileEntry } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';

interface Folder {
  name: string;
  path: string;
  folders: Folder[];
  files: FileEntry[];
}

export function buildTree(files: FileEntry[]): Folder {
  const root: Folder = { name: '', path: '', folders: [], files: [] };
  for (const file of files) {
    const parts = file.path.split('/');
    let folder = root;
    for (const part of parts.slice(0, -1)) {
      let next = folder.folders.find((f) => f.name === part);
      if (!next) {
        next = { name: part, path: folder.path ? `${folder.path}/${part}` : part, folders: [], files: [] };
        folder.folders.push(next);
      }
      folder = next;
    }
    folder.files.push(file);
  }
  return root;
}

export default function FilesPanel({ projectId }: { projectId: string }) {
  const api = useApi();
  const files = useQuery({ queryKey: ['files', projectId, 'head'], queryFn: () => api.files(projectId) });
  const [open, setOpen] = useState<string | null>(null);
  const tree = useMemo(() => buildTree(files.data ?? []), [files.data]);
  if (files.isPending) return <p aria-live="polite">Loading files…</p>;
  if (files.isError) return <ProblemMessage error={files.error} onRetry={() => void files.refetch()} />;
  return (
    <div className="files">
      <nav aria-label="Files" className="file-tree">
        <FolderView folder={tree} open={open} onOpen={setOpen} />
      </nav>
      {open ? <FileViewer projectId={projectId} path={open} /> : <p className="muted">Choose a file to read it.</p>}
    </div>
  );
}

function FolderView({ folder, open, onOpen }: { folder: Folder; open: string | null; onOpen(path: string): void }) {
  return (
    <ul>
      {folder.folders.map((f) => (
        <li key={f.path}>
          <details open>
            <summary>{f.name}/</summary>
            <FolderView folder={f} open={open} onOpen={onOpen} />
          </details>
        </li>
      ))}
      {folder.files.map((file) => (
        <li key={file.path}>
          <button type="button" className="file" aria-current={open === file.path ? 'true' : undefined} onClick={() => onOpen(file.path)}>
            {file.path.split('/').at(-1)}
          </button>
        </li>
      ))}
    </ul>
  );
}

function FileViewer({ projectId, path }: { projectId: string; path: string }) {
  const api = useApi();
  const text = useQuery({ queryKey: ['file', projectId, path], queryFn: () => api.fileText(projectId, path) });
  if (text.isPending) return <p aria-live="polite">Loading {path}…</p>;
  if (text.isError) return <ProblemMessage error={text.error} />;
  return (
    <section className="viewer" aria-label={`Contents of ${path}`}>
      <h3>{path}</h3>
      {/* sugar-high escapes the source and adds only its own spans. */}
      <pre tabIndex={0}>
        <code dangerouslySetInnerHTML={{ __html: highlight(String(text.data)) }} />
      </pre>
    </section>
  );
}
