import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createApi } from './lib/api/client';
import { Auth } from './lib/auth';
import { loadConfig } from './lib/config';
import './styles.css';

const root = createRoot(document.getElementById('root')!);

async function start() {
  const auth = new Auth(await loadConfig());
  await auth.restore();
  const api = createApi(
    () => auth.current()?.accessToken ?? null,
    () => auth.expired(),
  );
  root.render(
    <StrictMode>
      <App services={{ api, auth }} />
    </StrictMode>,
  );
}

start().catch((error: unknown) => {
  root.render(
    <main role="alert">
      <h1>StoryDream could not start</h1>
      <p>{error instanceof Error ? error.message : String(error)}</p>
      <button type="button" onClick={() => location.reload()}>
        Reload
      </button>
    </main>,
  );
});
