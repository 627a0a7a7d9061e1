import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PodError } from './errors.js';

/** The pod's half of DESIGN section 8's pod credentials: who it is, and the secret its callers must send. */
export class PodIdentity {
  static readonly MIN_SECRET_LENGTH = 32;
  private readonly secretDigest: Buffer;

  constructor(
    readonly sessionId: string,
    private readonly secret: string,
  ) {
    if (secret.length < PodIdentity.MIN_SECRET_LENGTH) throw new Error(`the pod secret must be at least ${PodIdentity.MIN_SECRET_LENGTH} characters`);
    this.secretDigest = digest(secret);
  }

  /** `Authorization: Bearer <pod secret>`, compared in constant time (digests, so lengths never leak either). */
  authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(header.slice('Bearer '.length)), this.secretDigest);
  }

  /**
   * The `/health` answer. It names the session; with `?challenge=` it also proves it, with an HMAC of the caller's
   * nonce under the pod secret, so a caller can tell the session's pod from another pod on a reused address without
   * ever sending the secret to a pod that is not the session's.
   */
  health(url: URL, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const body: Record<string, unknown> = { status: 'ok', sessionId: this.sessionId, ...extra };
    const challenge = url.searchParams.get('challenge');
    if (challenge !== null && CHALLENGE.test(challenge)) body.proof = proof(this.secret, this.sessionId, challenge);
    return body;
  }
}

const CHALLENGE = /^[A-Za-z0-9_-]{16,128}$/;

/** base64url(HMAC-SHA256(secret, "storydream-pod-identity\n{sessionId}\n{challenge}")); StoryDream.Sessions computes the same. */
export function proof(secret: string, sessionId: string, challenge: string): string {
  return createHmac('sha256', secret).update(`storydream-pod-identity\n${sessionId}\n${challenge}`).digest('base64url');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export const unauthorized = (): PodError =>
  new PodError(401, 'unauthorized', 'Unauthorized', 'send the pod secret as Authorization: Bearer <secret>');
