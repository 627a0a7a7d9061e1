import { useEffect, useRef, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { PageTitle } from '../../components/PageTitle';
import { useServices } from '../../lib/AppContext';

export function SignInPage() {
  const { auth } = useServices();
  const navigate = useNavigate();
  const location = useLocation();
  const returnTo = (location.state as { returnTo?: string } | null)?.returnTo ?? '/';
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const devSignIn = async () => {
    setBusy(true);
    setError(null);
    try {
      await auth.signInDev();
      navigate(returnTo, { replace: true });
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Sign-in failed.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <PageTitle>Sign in to StoryDream</PageTitle>
      <p>Make a video by chatting with an AI agent.</p>
      {auth.canUseOidc && (
        <button type="button" className="primary" onClick={() => void auth.signInOidc(returnTo)}>
          Sign in
        </button>
      )}
      {auth.config.devSignIn && (
        <button type="button" className={auth.canUseOidc ? '' : 'primary'} onClick={() => void devSignIn()} disabled={busy}>
          {busy ? 'Signing in…' : 'Continue as dev user'}
        </button>
      )}
      {!auth.canUseOidc && !auth.config.devSignIn && <p role="alert">No sign-in is configured for this studio (Studio:Authority).</p>}
      {error && <p role="alert">{error}</p>}
    </main>
  );
}

export function AuthCallbackPage() {
  const { auth } = useServices();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);
  useEffect(() => {
    // The code in the URL can be redeemed once.
    if (started.current) return;
    started.current = true;
    auth.completeOidc().then(
      (to) => navigate(to, { replace: true }),
      (e: unknown) => setError(e instanceof Error ? e.message : 'Sign-in failed.'),
    );
  }, [auth, navigate]);
  return (
    <main>
      <PageTitle>Signing you in…</PageTitle>
      {error && <p role="alert">{error}</p>}
    </main>
  );
}
