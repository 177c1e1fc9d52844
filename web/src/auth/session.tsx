import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { get, onUnauthenticated, post, setCsrfToken } from "../api/client";
import type { LoginAnswer, Me } from "../api/types";
import { useReportError } from "../components/errors";

interface Session {
  /** The signed-in user; null when signed out; undefined while asking the server. */
  user: Me | null | undefined;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<Me | null | undefined>(undefined);
  const report = useReportError();

  useEffect(() => {
    const stop = onUnauthenticated(() => setUser(null));
    // /auth/session answers 200 signed in or not: no 401 in the console before sign-in
    get<{ signed_in: boolean; user: Me | null }>("/auth/session")
      .then((state) => setUser(state.signed_in ? state.user : null))
      .catch((error: unknown) => {
        // the sign-in form shows, and why the session could not be checked is said
        setUser(null);
        report(error, "Checking whether you are signed in failed");
      });
    return stop;
  }, [report]);

  const login = useCallback(async (username: string, password: string) => {
    const answer = await post<LoginAnswer>("/auth/login", { username, password });
    setCsrfToken(answer.csrf_token);
    setUser({ id: answer.id, username: answer.username });
  }, []);

  const logout = useCallback(async () => {
    try {
      await post<void>("/auth/logout");
    } finally {
      setCsrfToken(null);
      setUser(null);
    }
  }, []);

  return <SessionContext.Provider value={{ user, login, logout }}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
