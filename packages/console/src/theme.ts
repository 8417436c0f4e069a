/**
 * Light and dark: the OS's choice (prefers-color-scheme) unless the user picks one with the
 * header's Theme control; the pick is remembered in localStorage ("webka.theme") and set as
 * `data-theme` on <html>, which the style sheet follows.
 */
import { signal } from './signal.js';

export type Theme = 'system' | 'light' | 'dark';

const KEY = 'webka.theme';

function stored(): Theme {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

function apply(t: Theme): void {
  if (t === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', t);
}

export const theme = signal<Theme>(stored());
apply(theme.value);

export function setTheme(t: Theme): void {
  theme.value = t;
  apply(t);
  try {
    if (t === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, t);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
}
