import { useFetcher, useFetchers, useLocation } from "@remix-run/react";
import { useEffect, useState } from "react";
import type { Theme } from "~/db/schema";

const THEME_ACTION = "/settings/theme";
const next: Record<Theme, Theme> = { system: "light", light: "dark", dark: "system" };
const labels: Record<Theme, { icon: string; text: string }> = {
  system: { icon: "◐", text: "System" },
  light: { icon: "☀", text: "Light" },
  dark: { icon: "☾", text: "Dark" },
};

/** The theme to render: a choice still being saved wins over the stored one, so the page changes at once. */
export function useTheme(stored: Theme): Theme {
  const pending = useFetchers().find((fetcher) => fetcher.formAction === THEME_ACTION && fetcher.formData);
  const choice = pending?.formData?.get("theme");
  return choice === "system" || choice === "light" || choice === "dark" ? choice : stored;
}

/** Whether the page is dark now: the html element's data-theme, or the system's preference under "system". */
export function useDarkMode(): boolean {
  const [dark, setDark] = useState(false);
  useEffect(() => {
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    const update = () => {
      const theme = document.documentElement.dataset.theme;
      setDark(theme === "dark" || (theme !== "light" && media.matches));
    };
    update();
    media.addEventListener("change", update);
    const observer = new MutationObserver(update);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => {
      media.removeEventListener("change", update);
      observer.disconnect();
    };
  }, []);
  return dark;
}

/** Cycles system → light → dark and saves the choice for the user. */
export function ThemeToggle({ theme }: { theme: Theme }) {
  const fetcher = useFetcher();
  const location = useLocation();
  const { icon, text } = labels[theme];
  return (
    <fetcher.Form method="post" action={THEME_ACTION} preventScrollReset>
      <input type="hidden" name="redirectTo" value={`${location.pathname}${location.search}`} />
      <button
        type="submit"
        name="theme"
        value={next[theme]}
        className="rounded-md px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800"
        aria-label={`Theme: ${text}. Switch to ${labels[next[theme]].text.toLowerCase()}`}
        data-testid="theme-toggle"
        data-theme-choice={theme}
      >
        <span aria-hidden>{icon}</span>
        <span className="sr-only sm:not-sr-only sm:ml-1">{text}</span>
      </button>
    </fetcher.Form>
  );
}
