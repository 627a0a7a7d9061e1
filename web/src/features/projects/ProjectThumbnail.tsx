import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Project } from '../../lib/api/client';
import { useApi } from '../../lib/AppContext';

/**
 * The still of the project's latest turn, read with the bearer token (an <img src> cannot carry it). Keyed by the
 * project's updatedAt, so a new turn reads it again; the browser's cache answers by ETag when nothing changed.
 */
export function ProjectThumbnail({ project }: { project: Project }) {
  const api = useApi();
  const still = useQuery({
    queryKey: ['thumbnail', project.id, project.updatedAt],
    queryFn: () => api.thumbnail(project.id),
    // A still is rendered a few seconds after its turn: until there is one, the list's next visit asks again.
    staleTime: (query) => (query.state.data ? Infinity : 0),
  });
  const url = useObjectUrl(still.data ?? null);
  if (!url) {
    return (
      <div className="thumbnail" aria-hidden="true">
        {project.name.slice(0, 1).toUpperCase()}
      </div>
    );
  }
  return <img className="thumbnail" src={url} alt={`Still of ${project.name}`} width={64} height={36} />;
}

function useObjectUrl(blob: Blob | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) {
      setUrl(null);
      return;
    }
    const made = URL.createObjectURL(blob);
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [blob]);
  return url;
}
