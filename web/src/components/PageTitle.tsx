import { useEffect, useRef } from 'react';

/** The page's heading, focused when the page opens so screen readers and keyboards start at the top of the new page. */
export function PageTitle({ children, title }: { children: string; title?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title ?? children} · StoryDream`;
    ref.current?.focus();
  }, [children, title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}
