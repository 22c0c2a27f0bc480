import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { keepStationInTray, type TrayMenuItem } from '../../src-main/app/tray';

/** A window that behaves like Electron's: close() emits a preventable 'close', then closes. */
class FakeWindow extends EventEmitter {
  visible = true;
  destroyed = false;
  hide() { this.visible = false; }
  show() { this.visible = true; }
  isDestroyed() { return this.destroyed; }
  close() {
    let prevented = false;
    this.emit('close', { preventDefault: () => { prevented = true; } });
    if (!prevented) this.destroyed = true;
  }
}

function setup(running: boolean | Error) {
  const win = new FakeWindow();
  const trays: { tooltip: string; menu: TrayMenuItem[]; destroyed: boolean; click?: () => void }[] = [];
  let quits = 0, hiddenNotices = 0;
  const tray = keepStationInTray(win, {
    stationRunning: async () => { if (running instanceof Error) throw running; return running; },
    makeTray: () => {
      const t = { tooltip: '', menu: [] as TrayMenuItem[], destroyed: false, click: undefined as undefined | (() => void) };
      trays.push(t);
      return {
        setToolTip: (s: string) => { t.tooltip = s; },
        setContextMenu: (m: unknown) => { t.menu = m as TrayMenuItem[]; },
        on: (_e: 'click', f: () => void) => { t.click = f; },
        destroy: () => { t.destroyed = true; },
      };
    },
    buildMenu: (items) => items,
    quit: () => { quits++; },
    onHidden: () => { hiddenNotices++; },
  });
  return { win, tray, trays, quits: () => quits, notices: () => hiddenNotices };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('closing the window while a station runs', () => {
  it('hides the window into the tray instead of quitting, and the tray shows it again', async () => {
    const s = setup(true);
    s.win.close();
    await tick();
    expect(s.win.destroyed).toBe(false);
    expect(s.win.visible).toBe(false);
    expect(s.tray.hidden).toBe(true);
    expect(s.trays).toHaveLength(1);
    expect(s.trays[0]!.tooltip).toMatch(/station is running/);
    expect(s.trays[0]!.menu.map((m) => m.label)).toEqual(['Show BGAD Inspector', 'Stop the station and quit']);
    expect(s.notices()).toBe(1);
    s.trays[0]!.click!();
    expect(s.win.visible).toBe(true);
    expect(s.trays[0]!.destroyed).toBe(true);
    // a second close goes to a new tray icon; the notice is said once
    s.win.close();
    await tick();
    expect(s.trays).toHaveLength(2);
    expect(s.notices()).toBe(1);
  });

  it('quits from the tray menu, and before-quit lets the window close', async () => {
    const s = setup(true);
    s.win.close();
    await tick();
    s.trays[0]!.menu[1]!.click();
    expect(s.quits()).toBe(1);
    s.tray.allowClose();
    s.win.close();
    expect(s.win.destroyed).toBe(true);
  });

  it('closes as before when no station runs, or when its state cannot be read', async () => {
    for (const state of [false, new Error('services closed')]) {
      const s = setup(state);
      s.win.close();
      await tick();
      await tick();
      expect(s.win.destroyed).toBe(true);
      expect(s.trays).toHaveLength(0);
    }
  });
});
