import { useEffect, useState } from 'preact/hooks';

/** A model that says when it changed; views re-render through `useModel`. */
export class Observable {
  private readonly listeners = new Set<() => void>();
  /** Bumped on every change: a cheap way for views to know whether to redo derived work. */
  version = 0;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

/** Re-renders the calling component whenever `model` changes; returns the model's version. */
export function useModel(model: Observable): number {
  const [, setVersion] = useState(model.version);
  useEffect(() => {
    setVersion(model.version);
    return model.subscribe(() => setVersion(model.version));
  }, [model]);
  return model.version;
}

/** The current time, refreshed every `ms` (ages in the alert feed). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
