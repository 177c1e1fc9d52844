/**
 * The one way the dashboard talks to the API: JSON in and out, the session cookie, the
 * CSRF token on every write, and RFC 9457 problems turned into ApiError (never swallowed).
 */

export interface FieldError {
  field: string;
  message: string;
}

/** A failed request as the API explained it (application/problem+json), or the network. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly errors: FieldError[];
  readonly body: unknown;

  constructor(status: number, type: string, message: string, errors: FieldError[], body: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.errors = errors;
    this.body = body;
  }

  /** The problem's slug: `stale-write`, `invalid-rows`, `not-authenticated`... */
  get slug(): string {
    return this.type.split(":").pop() ?? this.type;
  }
}

export const API = "/api/v1";
const CSRF_COOKIE = "quantdesk_csrf";
let csrfToken: string | null = null;
const unauthenticatedListeners = new Set<() => void>();

/** Remember the CSRF token the login returned (the cookie holds it across reloads). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

function currentCsrf(): string | null {
  if (csrfToken) return csrfToken;
  const found = document.cookie
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${CSRF_COOKIE}=`));
  return found ? decodeURIComponent(found.slice(CSRF_COOKIE.length + 1)) : null;
}

/** Called when any request finds the session gone (the app shows the login page). */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export interface RequestOptions {
  json?: unknown;
  form?: FormData;
  query?: Record<string, string | number | boolean | null | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function url(path: string, query?: RequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return `${API}${path}${text ? `?${text}` : ""}`;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  if (method !== "GET") {
    const token = currentCsrf();
    if (token) headers["X-CSRF-Token"] = token;
  }
  let response: Response;
  try {
    response = await fetch(url(path, options.query), {
      method,
      headers,
      body,
      credentials: "same-origin",
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "The server cannot be reached: check that quantdesk is running.", [], null);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const problem = (parsed && typeof parsed === "object" ? parsed : {}) as {
      type?: string;
      title?: string;
      detail?: string;
      errors?: FieldError[];
    };
    const error = new ApiError(
      response.status,
      problem.type ?? `http-${response.status}`,
      problem.detail ?? problem.title ?? `The request failed (HTTP ${response.status}).`,
      problem.errors ?? [],
      parsed,
    );
    if (response.status === 401 && !path.startsWith("/auth/login")) {
      unauthenticatedListeners.forEach((listener) => listener());
    }
    throw error;
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: RequestOptions["query"], signal?: AbortSignal) =>
  request<T>("GET", path, { query, signal });
export const post = <T>(path: string, json?: unknown) => request<T>("POST", path, { json });
export const put = <T>(path: string, json?: unknown) => request<T>("PUT", path, { json });
export const patch = <T>(path: string, json?: unknown, headers?: Record<string, string>) =>
  request<T>("PATCH", path, { json, headers });
export const del = <T>(path: string) => request<T>("DELETE", path);
export const upload = <T>(path: string, form: FormData) => request<T>("POST", path, { form });
