/**
 * Tabs as the WAI-ARIA tabs pattern describes them: each tab names the panel it controls, only the
 * selected tab is in the Tab order, and the arrow keys (Home, End) move between tabs and select them.
 */
export function setUpTabs(list: HTMLElement, onSelect: (name: string) => void): void {
  const tabs = [...list.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (tab: HTMLButtonElement, focus: boolean): void => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(t.getAttribute('aria-controls') ?? '');
      if (panel) panel.hidden = !on;
    }
    if (focus) tab.focus();
    onSelect(tab.dataset.tab ?? '');
  };
  for (const tab of tabs) {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(tab);
      const to = e.key === 'ArrowRight' ? (i + 1) % tabs.length : e.key === 'ArrowLeft' ? (i - 1 + tabs.length) % tabs.length : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : -1;
      if (to < 0) return;
      e.preventDefault();
      select(tabs[to], true);
    });
    tab.tabIndex = tab.getAttribute('aria-selected') === 'true' ? 0 : -1;
  }
}
