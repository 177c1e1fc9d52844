/**
 * Every request failure reaches the user: pages report errors here and a banner shows
 * them until dismissed (nothing is swallowed, nothing goes only to the console).
 */
import { createContext, useCallback, useContext, useState, type ReactNode } from "react";
import { ApiError } from "../api/client";

interface Shown {
  id: number;
  message: string;
}

interface Errors {
  report: (error: unknown, what?: string) => void;
}

const ErrorContext = createContext<Errors | null>(null);
let next = 1;

export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return fields ? `${error.message} (${fields})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorProvider({ children }: { children: ReactNode }) {
  const [shown, setShown] = useState<Shown[]>([]);
  const report = useCallback((error: unknown, what?: string) => {
    if (error instanceof DOMException && error.name === "AbortError") return;
    if (error instanceof ApiError && error.status === 401) return; // the login page shows
    const message = what ? `${what}: ${describe(error)}` : describe(error);
    setShown((list) => [...list.filter((s) => s.message !== message), { id: next++, message }].slice(-4));
  }, []);
  return (
    <ErrorContext.Provider value={{ report }}>
      {shown.length > 0 && (
        <div className="error-banner" role="alert">
          {shown.map((s) => (
            <div key={s.id} className="error-line">
              <span>{s.message}</span>
              <button aria-label="Dismiss" onClick={() => setShown((list) => list.filter((x) => x.id !== s.id))}>
                ×
              </button>
            </div>
          ))}
        </div>
      )}
      {children}
    </ErrorContext.Provider>
  );
}

export function useReportError(): Errors["report"] {
  const errors = useContext(ErrorContext);
  if (!errors) throw new Error("useReportError outside ErrorProvider");
  return errors.report;
}
