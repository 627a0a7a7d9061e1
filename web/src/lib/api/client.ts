import type { components } from './schema';

export type Project = components['schemas']['ProjectResponse'];
export type ChatMessage = components['schemas']['ChatMessage'];
export type MessageAction = components['schemas']['MessageAction'];
export type Snapshot = components['schemas']['SnapshotResponse'];
export type FileEntry = components['schemas']['FileResponse'];
export type SessionInfo = components['schemas']['SessionResponse'];
export type ExportJob = components['schemas']['ExportResponse'];
export type Asset = components['schemas']['AssetResponse'];
export type AssetList = components['schemas']['AssetList'];
export type DownloadLink = components['schemas']['DownloadLinkResponse'];
export interface Page<T> {
  items: T[];
  nextPageToken?: string | null;
}

/** An `application/problem+json` answer (RFC 9457), or a failure to reach the server at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string | undefined,
    readonly title: string | undefined,
    readonly detail: string | undefined,
    readonly errors: Record<string, string[]> | undefined,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(detail ?? title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** Words a person understands for any API problem, naming the field where there is one. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) {
    return error instanceof Error ? error.message : 'Something went wrong.';
  }
  switch (error.status) {
    case 0:
      return 'The server cannot be reached. Check your connection; we will keep trying.';
    case 401:
      return 'Your sign-in has expired. Please sign in again.';
    case 403:
      return error.detail ?? 'You are not allowed to do that.';
    case 404:
      return 'This project does not exist or is not yours.';
    case 409:
    case 412:
      return error.detail ?? 'Someone changed this meanwhile. Reload and try again.';
    case 413:
      return error.detail ?? 'That is too large to send.';
    case 429:
      return `Too many requests. Please wait ${error.retryAfterSeconds ?? 'a few'} seconds and try again.`;
    case 503:
      return `The service is busy or starting. It will be retried${error.retryAfterSeconds ? ` in ${error.retryAfterSeconds} seconds` : ''}.`;
  }
  if (error.errors) {
    const fields = Object.entries(error.errors).map(([field, messages]) => `${field}: ${messages.join(' ')}`);
    if (fields.length > 0) return fields.join(' ');
  }
  if (error.status >= 500) return 'The server had a problem. Please try again in a moment.';
  return error.detail ?? error.title ?? `The request failed (HTTP ${error.status}).`;
}

type Problem = { type?: string; title?: string; detail?: string; errors?: Record<string, string[]> };

function problemError(status: number, problem: Problem, retryAfterHeader: string | null): ApiError {
  const retryAfter = Number(retryAfterHeader);
  return new ApiError(status, problem.type, problem.title, problem.detail, problem.errors, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
}

export type TokenSource = () => string | null;

export function createApi(token: TokenSource, onUnauthorized: () => void) {
  async function request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const init: RequestInit = { method, headers: { accept: 'application/json, application/problem+json', ...headers } };
    const bearer = token();
    if (bearer) (init.headers as Record<string, string>).authorization = `Bearer ${bearer}`;
    if (body !== undefined) {
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiError(0, undefined, 'Network error', undefined, undefined, undefined);
    }
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as Problem;
      if (response.status === 401) onUnauthorized();
      throw problemError(response.status, problem, response.headers.get('retry-after'));
    }
    if (response.status === 204 || response.status === 202) return undefined as T;
    const type = response.headers.get('content-type') ?? '';
    return (type.includes('json') ? await response.json() : await response.text()) as T;
  }

  const project = (id: string) => `/api/projects/${encodeURIComponent(id)}`;
  return {
    listProjects: (pageToken?: string) =>
      request<Page<Project>>('GET', `/api/projects?pageSize=20${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`),
    createProject: (name: string, description?: string) => request<Project>('POST', '/api/projects', { name, description: description || undefined }),
    getProject: (id: string) => request<Project>('GET', project(id)),
    renameProject: (id: string, name: string) => request<Project>('PATCH', project(id), { name }),
    deleteProject: (id: string) => request<void>('DELETE', project(id)),
    /** A page of the project's messages, newest first: the studio shows the newest page at once and older ones on scroll. */
    newestMessages: (id: string, pageSize: number, pageToken?: string) =>
      request<Page<ChatMessage>>('GET', `${project(id)}/messages?order=newest&pageSize=${pageSize}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`),
    snapshots: (id: string) => request<Page<Snapshot>>('GET', `${project(id)}/snapshots?pageSize=100`),
    restore: (id: string, snapshotId: string) => request<Snapshot>('POST', `${project(id)}/snapshots/${snapshotId}/restore`),
    fork: (id: string, snapshotId: string) => request<Project>('POST', `${project(id)}/snapshots/${snapshotId}/fork`),
    files: (id: string, snapshotId?: string) => request<FileEntry[]>('GET', `${project(id)}/files${snapshotId ? `?snapshot=${snapshotId}` : ''}`),
    fileText: (id: string, path: string, snapshotId?: string) =>
      request<string>('GET', `${project(id)}/files/${path.split('/').map(encodeURIComponent).join('/')}${snapshotId ? `?snapshot=${snapshotId}` : ''}`, undefined, {
        accept: 'text/plain, */*',
      }),
    startSession: (id: string) => request<SessionInfo>('POST', `${project(id)}/session`),
    chatTicket: (id: string) => request<{ ticket: string; expiresAt: string }>('POST', `${project(id)}/chat/ticket`),
    exports: (id: string) => request<{ items: ExportJob[] }>('GET', `${project(id)}/exports`),
    startExport: (id: string) => request<ExportJob>('POST', `${project(id)}/exports`, {}),
    cancelExport: (id: string, exportId: string) => request<ExportJob>('DELETE', `${project(id)}/exports/${encodeURIComponent(exportId)}`),
    /** A short-lived link to the MP4 that needs no bearer token, for the browser to download straight to disk. */
    exportLink: (id: string, exportId: string) => request<DownloadLink>('GET', `${project(id)}/exports/${encodeURIComponent(exportId)}/link`),
    /** The latest turn's still, or null while the project has none. The browser revalidates it by its ETag. */
    thumbnail: (id: string) => blobOrNull(`${project(id)}/thumbnail`),
    assets: (id: string) => request<AssetList>('GET', `${project(id)}/assets`),
    deleteAsset: (id: string, name: string) => request<void>('DELETE', `${project(id)}/assets/${encodeURIComponent(name)}`),
    uploadAsset: (id: string, file: File, onProgress: (fraction: number) => void, signal?: AbortSignal) =>
      upload<Asset>(`${project(id)}/assets`, file, onProgress, signal),
  };

  /** A binary answer, or null for a 404. */
  async function blobOrNull(path: string): Promise<Blob | null> {
    const bearer = token();
    let response: Response;
    try {
      response = await fetch(path, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
    } catch {
      throw new ApiError(0, undefined, 'Network error', undefined, undefined, undefined);
    }
    if (response.status === 404) return null;
    if (!response.ok) {
      if (response.status === 401) onUnauthorized();
      throw problemError(response.status, (await response.json().catch(() => ({}))) as Problem, response.headers.get('retry-after'));
    }
    return response.blob();
  }

  // XMLHttpRequest, not fetch: only it reports how much of a request body has been sent.
  function upload<T>(path: string, file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('accept', 'application/json, application/problem+json');
      const bearer = token();
      if (bearer) xhr.setRequestHeader('authorization', `Bearer ${bearer}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        let body: unknown = {};
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // An answer without JSON (a proxy's page): the status alone describes it.
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(body as T);
          return;
        }
        if (xhr.status === 401) onUnauthorized();
        reject(problemError(xhr.status, body as Problem, xhr.getResponseHeader('retry-after')));
      };
      xhr.onerror = () => reject(new ApiError(0, undefined, 'Network error', undefined, undefined, undefined));
      xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      const form = new FormData();
      form.append('file', file);
      xhr.send(form);
    });
  }
}

export type Api = ReturnType<typeof createApi>;
