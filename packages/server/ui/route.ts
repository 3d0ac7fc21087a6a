import { signal } from '@preact/signals';

/** The view the page shows, from its hash (`#/agents`, `#/tasks/<id>`): relative, so it survives any path prefix. */
export const route = signal(parse());

function parse(): string[] {
  const path = window.location.hash.replace(/^#\/?/, '');
  return path === '' ? ['agents'] : path.split('/').map(decodeURIComponent);
}

window.addEventListener('hashchange', () => {
  route.value = parse();
});

/** Shows another view. */
export function navigate(path: string): void {
  window.location.hash = `#/${path}`;
}
