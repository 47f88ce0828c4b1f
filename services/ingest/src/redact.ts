/** Query parameters whose values are secrets, compared lower-case with `-` read as `_`. */
const SECRET_PARAMS = new Set(['api_key', 'apikey', 'key', 'token', 'access_token', 'x_api_key', 'authorization', 'password', 'secret']);

/**
 * A request URL fit for a log line: the value of every query parameter that carries a key
 * (`api_key`, `key`, `token`, `access_token`, ... in any case, percent-encoded or not) is
 * replaced by `[redacted]`. The rest of the URL is kept as sent.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      if (eq === -1) return param;
      const name = param.slice(0, eq);
      return SECRET_PARAMS.has(normalise(name)) ? `${name}=[redacted]` : param;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function normalise(name: string): string {
  let decoded = name.replace(/\+/g, ' ');
  try {
    decoded = decodeURIComponent(decoded);
  } catch {
    // a malformed escape: compare the name as sent
  }
  return decoded.trim().toLowerCase().replace(/-/g, '_');
}
