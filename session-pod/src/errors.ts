/** An error that maps to an RFC 9457 problem response; `type` is stable so callers can branch on it. */
export class PodError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }

  toProblem(): Record<string, unknown> {
    return {
      type: `urn:storydream:pod:${this.type}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...this.extra,
    };
  }
}

export const invalidPath = (path: unknown, reason: string): PodError =>
  new PodError(400, 'invalid-path', 'Invalid path', `path ${describe(path)} refused: ${reason}`, {
    path: typeof path === 'string' ? path : null,
  });

export const badRequest = (detail: string): PodError => new PodError(400, 'bad-request', 'Bad request', detail);

export function describe(value: unknown): string {
  if (typeof value !== 'string') return `of type ${value === null ? 'null' : typeof value}`;
  const shown = value.length > 120 ? `${value.slice(0, 120)}…` : value;
  return JSON.stringify(shown);
}
