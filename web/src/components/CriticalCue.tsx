import { useEffect, useRef, useState } from 'preact/hooks';
import type { Alert } from '../lib/types.ts';
import { alertsModel } from '../state/alerts.ts';

const SOUND_KEY = 'dronewatch.sound';
let audio: AudioContext | undefined;
let alarmTimer: ReturnType<typeof setTimeout> | undefined;

export function soundEnabled(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) === 'on';
  } catch {
    return false;
  }
}

/** Switching sound on is a click: browsers only let a page play sound after the user interacted with it. */
export function setSound(on: boolean): void {
  try {
    localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
  } catch {
    // No storage: the choice lasts until reload.
  }
  if (on) {
    audio ??= new AudioContext();
    void audio.resume();
    beep();
  }
}

/** Two short tones: distinct from a notification chime, not alarming enough to startle. */
function beep(): void {
  if (!audio) return;
  const t0 = audio.currentTime;
  for (const [i, f] of [880, 1175].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = f;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + i * 0.18 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.18 + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + i * 0.18);
    osc.stop(t0 + i * 0.18 + 0.17);
  }
}

/**
 * The cue for new critical alerts (raised critical, or escalated to critical): a banner announced to screen readers
 * (role alert), the top bar in red for 3 s, and two tones when sound is on.
 *
 * The banner takes its own space under the top bar, in the page's flow, on every page: it never covers the feed, a
 * table or a chart (it used to float over the bottom of the page). Its height is published as `--cue-h`, so the live
 * page, which fills the window, shrinks by it instead of running past the bottom.
 */
export function CriticalCue() {
  const [latest, setLatest] = useState<{ alert: Alert; count: number } | null>(null);
  const region = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = region.current;
    if (!el) return;
    const root = document.documentElement;
    const ro = new ResizeObserver(() => root.style.setProperty('--cue-h', `${el.offsetHeight}px`));
    ro.observe(el);
    return () => {
      ro.disconnect();
      root.style.removeProperty('--cue-h');
    };
  }, []);
  useEffect(() => alertsModel.onAlertEvent((e, previous) => {
    const becameCritical = e.alert.severity === 'critical' && (e.type === 'raised' || (e.type === 'updated' && previous !== undefined && previous.severity !== 'critical'));
    if (!becameCritical) return;
    setLatest((cur) => ({ alert: e.alert, count: (cur?.count ?? 0) + 1 }));
    const top = document.querySelector('header.top');
    top?.classList.add('alarm');
    clearTimeout(alarmTimer);
    alarmTimer = setTimeout(() => top?.classList.remove('alarm'), 3000);
    if (soundEnabled()) {
      audio ??= new AudioContext();
      beep();
    }
  }), []);
  useEffect(() => {
    if (!latest) return;
    const t = setTimeout(() => setLatest(null), 20_000);
    return () => clearTimeout(t);
  }, [latest]);
  return (
    <div class="cue-region" role="alert" aria-atomic="true" ref={region}>
      {latest && (
        <div class="cue">
          <strong>Critical alert{latest.count > 1 ? ` (${latest.count} new)` : ''}:</strong>{' '}
          {latest.alert.citizen}, score {latest.alert.score}, seen by {latest.alert.droneId}.{' '}
          <button type="button" onClick={() => { location.hash = '#/'; void alertsModel.selectById(latest.alert.alertId); setLatest(null); }}>Show</button>{' '}
          <button type="button" onClick={() => setLatest(null)} aria-label="Dismiss critical alert banner">Dismiss</button>
        </div>
      )}
    </div>
  );
}
