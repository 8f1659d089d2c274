/**
 * Keeps secrets out of trails, error messages and logs: URL userinfo and query values.
 */

const MASK = '***';

/** The URL with userinfo and every query value replaced by `***` (keys stay, so the shape is visible). */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username) copy.username = MASK;
  if (copy.password) copy.password = MASK;
  if (copy.search) {
    const keys = [...copy.searchParams.keys()];
    copy.search = keys.map((key) => `${encodeURIComponent(key)}=${MASK}`).join('&');
  }
  return copy.href;
}
