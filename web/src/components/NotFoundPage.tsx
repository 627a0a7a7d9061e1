import { Link } from 'react-router';
import { PageTitle } from './PageTitle';

export function NotFoundPage() {
  return (
    <main className="not-found">
      <PageTitle>Not found</PageTitle>
      <p>This project does not exist or is not yours.</p>
      <Link to="/">Back to your projects</Link>
    </main>
  );
}
