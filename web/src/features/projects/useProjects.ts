import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../../lib/AppContext';

export const projectsKey = ['projects'] as const;

export function useProjects() {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: projectsKey,
    queryFn: ({ pageParam }) => api.listProjects(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextPageToken ?? undefined,
  });
}

export function useCreateProject() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, description }: { name: string; description: string }) => api.createProject(name, description),
    onSuccess: () => client.invalidateQueries({ queryKey: projectsKey }),
  });
}

export function useRenameProject() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, name }: { id: string; name: string }) => api.renameProject(id, name),
    onSuccess: (project) => {
      client.setQueryData(['project', project.id], project);
      return client.invalidateQueries({ queryKey: projectsKey });
    },
  });
}

export function useDeleteProject() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.deleteProject(id),
    onSuccess: (_, id) => {
      client.removeQueries({ queryKey: ['project', id] });
      return client.invalidateQueries({ queryKey: projectsKey });
    },
  });
}
