import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createBrowserRouter, Navigate, Outlet, RouterProvider, useLocation, Link } from 'react-router';
import { ErrorBoundary } from './components/ErrorBoundary';
import { NotFoundPage } from './components/NotFoundPage';
import { ApiError } from './lib/api/client';
import { AppContext, useServices, useSession, type AppServices } from './lib/AppContext';
import { AuthCallbackPage, SignInPage } from './features/auth/SignInPage';
import { ProjectsPage } from './features/projects/ProjectsPage';
import { StudioPage } from './features/studio/StudioPage';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx answer will not change by asking again; outages and 5xx are retried with backoff.
      retry: (count, error) => count < 3 && !(error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429),
      refetchOnWindowFocus: false,
    },
  },
});

function RequireSignIn() {
  const session = useSession();
  const location = useLocation();
  if (!session) return <Navigate to="/sign-in" replace state={{ returnTo: location.pathname + location.search }} />;
  return (
    <>
      <AppHeader />
      <ErrorBoundary area="this page">
        <Outlet />
      </ErrorBoundary>
    </>
  );
}

function AppHeader() {
  const { auth } = useServices();
  const session = useSession();
  return (
    <header className="app-header">
      <Link to="/" className="brand">
        StoryDream
      </Link>
      <span className="muted">Signed in as {session?.name}</span>
      <button
        type="button"
        onClick={() => {
          queryClient.clear();
          void auth.signOut();
        }}
      >
        Sign out
      </button>
    </header>
  );
}

const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  { path: '/auth/callback', element: <AuthCallbackPage /> },
  {
    element: <RequireSignIn />,
    children: [
      { path: '/', element: <ProjectsPage /> },
      { path: '/projects/:id', element: <StudioPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

export function App({ services }: { services: AppServices }) {
  return (
    <AppContext.Provider value={services}>
      <QueryClientProvider client={queryClient}>
        <ErrorBoundary area="the studio">
          <RouterProvider router={router} />
        </ErrorBoundary>
      </QueryClientProvider>
    </AppContext.Provider>
  );
}
