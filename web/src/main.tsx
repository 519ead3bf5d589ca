/**
 * The K-Fashion web console: Search (/), Image (/image/:id, /image/external/:kfashionId),
 * Review (/review), More like this (/similar/:garmentId), Training (/training) and Analyze (/analyze),
 * all over the same GraphQL API as any client.
 */
import { FormEvent, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { TokenField } from './components/TokenField';
import { AnalyzePage } from './pages/AnalyzePage';
import { ImagePage } from './pages/ImagePage';
import { ReviewPage } from './pages/ReviewPage';
import { SearchPage } from './pages/SearchPage';
import { SimilarPage } from './pages/SimilarPage';
import { TrainingPage } from './pages/TrainingPage';
import { Link, Location, navigate, useLocation } from './router';
import './styles.css';

function Page({ location }: { location: Location }) {
  const { pathname, search } = location;
  const image = /^\/image\/(external\/)?([^/]+)\/?$/.exec(pathname);
  if (image) return <ImagePage id={decodeURIComponent(image[2])} external={!!image[1]} query={search} />;
  if (/^\/review\/?$/.test(pathname)) return <ReviewPage query={search} />;
  const similar = /^\/similar\/([^/]+)\/?$/.exec(pathname);
  if (similar) return <SimilarPage garmentId={decodeURIComponent(similar[1])} query={search} />;
  if (/^\/training\/?$/.test(pathname)) return <TrainingPage query={search} />;
  if (/^\/analyze\/?$/.test(pathname)) return <AnalyzePage query={search} />;
  if (pathname === '/' || pathname === '/index.html') return <SearchPage query={search} />;
  return (
    <p className="error" role="alert">
      No page at {pathname}. <Link href="/">Back to search</Link>
    </p>
  );
}

function JumpToImage() {
  const [id, setId] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = id.trim();
    if (trimmed) navigate(`/image/external/${encodeURIComponent(trimmed)}`);
  };
  return (
    <form className="jump" role="search" onSubmit={submit}>
      <label htmlFor="jump-id" className="visually-hidden">
        K-Fashion image id
      </label>
      <input
        id="jump-id"
        name="externalId"
        placeholder="K-Fashion id"
        inputMode="numeric"
        value={id}
        onChange={(event) => setId(event.target.value)}
      />
      <button type="submit">Open</button>
    </form>
  );
}

function App() {
  const location = useLocation();
  const section = location.pathname.startsWith('/training')
    ? 'training'
    : location.pathname.startsWith('/review')
      ? 'review'
      : location.pathname.startsWith('/analyze')
        ? 'analyze'
        : location.pathname.startsWith('/image')
          ? 'image'
          : 'search';
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          K-Fashion
        </Link>
        <nav aria-label="Pages">
          <Link href="/" aria-current={section === 'search' ? 'page' : undefined}>
            Search
          </Link>
          <Link href="/review" aria-current={section === 'review' ? 'page' : undefined}>
            Review
          </Link>
          <Link href="/training" aria-current={section === 'training' ? 'page' : undefined}>
            Training
          </Link>
          <Link href="/analyze" aria-current={section === 'analyze' ? 'page' : undefined}>
            Analyze
          </Link>
        </nav>
        <JumpToImage />
        <TokenField />
      </header>
      <main id="main">
        <Page location={location} />
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
