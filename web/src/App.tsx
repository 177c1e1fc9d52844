import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, NavLink, Navigate, Route, Routes } from "react-router-dom";
import { ApiError } from "./api/client";
import { LoginPage } from "./auth/LoginPage";
import { SessionProvider, useSession } from "./auth/session";
import { ErrorProvider } from "./components/errors";
import { ThemeProvider, useTheme } from "./components/theme";
import { AnalyticsPage } from "./features/analytics/AnalyticsPage";
import { DashboardPage } from "./features/dashboard/DashboardPage";
import { HoldingsPage } from "./features/holdings/HoldingsPage";
import { SettingsPage } from "./features/settings/SettingsPage";
import { SuggestionsPage } from "./features/suggestions/SuggestionsPage";
import { TransactionsPage } from "./features/transactions/TransactionsPage";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

const PAGES = [
  { path: "/", label: "Dashboard", element: <DashboardPage /> },
  { path: "/holdings", label: "Holdings", element: <HoldingsPage /> },
  { path: "/analytics", label: "Analytics", element: <AnalyticsPage /> },
  { path: "/suggestions", label: "Suggestions", element: <SuggestionsPage /> },
  { path: "/transactions", label: "Transactions", element: <TransactionsPage /> },
  { path: "/settings", label: "Settings", element: <SettingsPage /> },
];

function Shell() {
  const { user, logout } = useSession();
  const { theme, toggle } = useTheme();
  if (user === undefined) return <p className="loading">Loading…</p>;
  if (user === null) return <LoginPage />;
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">quantdesk</span>
        <nav aria-label="Pages">
          {PAGES.map((page) => (
            <NavLink key={page.path} to={page.path} end={page.path === "/"}>
              {page.label}
            </NavLink>
          ))}
        </nav>
        <span className="spacer" />
        <button className="ghost" onClick={toggle} aria-label="Toggle dark mode">
          {theme === "dark" ? "☀ Light" : "☾ Dark"}
        </button>
        <span className="user">{user.username}</span>
        <button className="ghost" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <main className="page">
        <Routes>
          {PAGES.map((page) => (
            <Route key={page.path} path={page.path} element={page.element} />
          ))}
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </main>
    </div>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <ThemeProvider>
        <ErrorProvider>
          <SessionProvider>
            <BrowserRouter>
              <Shell />
            </BrowserRouter>
          </SessionProvider>
        </ErrorProvider>
      </ThemeProvider>
    </QueryClientProvider>
  );
}
