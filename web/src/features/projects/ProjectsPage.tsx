import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { PageTitle } from '../../components/PageTitle';
import { ProblemMessage } from '../../components/ProblemMessage';
import type { Project } from '../../lib/api/client';
import { formatDateTime } from '../../lib/format';
import { ProjectThumbnail } from './ProjectThumbnail';
import { useCreateProject, useDeleteProject, useProjects, useRenameProject } from './useProjects';

export function ProjectsPage() {
  const projects = useProjects();
  const [deleting, setDeleting] = useState<Project | null>(null);
  const remove = useDeleteProject();
  const items = projects.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <main className="projects">
      <PageTitle>Your projects</PageTitle>
      <CreateProjectForm />
      {projects.isPending && <p aria-live="polite">Loading your projects…</p>}
      {projects.isError && <ProblemMessage error={projects.error} onRetry={() => void projects.refetch()} />}
      {projects.isSuccess && items.length === 0 && (
        <p className="empty">No projects yet. Name your first video above and press Create to start.</p>
      )}
      {items.length > 0 && (
        <ul className="project-list" aria-label="Projects">
          {items.map((project) => (
            <ProjectRow key={project.id} project={project} onDelete={() => setDeleting(project)} />
          ))}
        </ul>
      )}
      {projects.hasNextPage && (
        <button type="button" onClick={() => void projects.fetchNextPage()} disabled={projects.isFetchingNextPage}>
          {projects.isFetchingNextPage ? 'Loading…' : 'Show more projects'}
        </button>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete project"
        danger
        busy={remove.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting.id, { onSuccess: () => setDeleting(null) })}
      >
        <p>
          The project “{deleting?.name}”, its chat and all its versions will be deleted. This cannot be undone.
        </p>
        {remove.isError && <ProblemMessage error={remove.error} />}
      </ConfirmDialog>
    </main>
  );
}

function CreateProjectForm() {
  const create = useCreateProject();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), description: description.trim() },
      { onSuccess: (project) => navigate(`/projects/${project.id}`) },
    );
  };
  return (
    <form className="create-project" onSubmit={submit} aria-labelledby="create-heading">
      <h2 id="create-heading">New project</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} name="name" />
      </label>
      <label>
        Description (optional)
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} name="description" />
      </label>
      <button type="submit" className="primary" disabled={create.isPending || name.trim() === ''}>
        {create.isPending ? 'Creating…' : 'Create'}
      </button>
      {create.isError && <ProblemMessage error={create.error} />}
    </form>
  );
}

function ProjectRow({ project, onDelete }: { project: Project; onDelete(): void }) {
  const rename = useRenameProject();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(project.name);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    rename.mutate({ id: project.id, name: name.trim() }, { onSuccess: () => setEditing(false) });
  };
  return (
    <li className="project-row">
      <ProjectThumbnail project={project} />
      {editing ? (
        <form onSubmit={submit} className="rename">
          <label>
            New name for {project.name}
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} autoFocus />
          </label>
          <button type="submit" disabled={rename.isPending}>
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
          {rename.isError && <ProblemMessage error={rename.error} />}
        </form>
      ) : (
        <div className="project-info">
          <Link to={`/projects/${project.id}`} className="project-name">
            {project.name}
          </Link>
          <span className="muted">Edited {formatDateTime(project.updatedAt)}</span>
        </div>
      )}
      {!editing && (
        <div className="row-actions">
          <button type="button" onClick={() => setEditing(true)} aria-label={`Rename ${project.name}`}>
            Rename
          </button>
          <button type="button" className="danger" onClick={onDelete} aria-label={`Delete ${project.name}`}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}
