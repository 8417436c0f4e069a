/**
 * Calls fn when a browser page is hidden or unloaded (`visibilitychange` to hidden, `pagehide`),
 * the last moments in which a page can still send data reliably. Outside a browser it does
 * nothing. Returns the function that removes the listeners.
 */
export function onPageHide(fn: () => void): () => void {
  const g = globalThis as unknown as { addEventListener?: EventTarget['addEventListener']; removeEventListener?: EventTarget['removeEventListener']; document?: Document };
  const doc = g.document;
  if (typeof g.addEventListener !== 'function' || doc === undefined) return () => undefined;
  const onVisibility = (): void => {
    if (doc.visibilityState === 'hidden') fn();
  };
  g.addEventListener('pagehide', fn);
  doc.addEventListener('visibilitychange', onVisibility);
  return () => {
    g.removeEventListener?.('pagehide', fn);
    doc.removeEventListener('visibilitychange', onVisibility);
  };
}
