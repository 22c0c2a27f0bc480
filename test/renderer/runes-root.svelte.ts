/**
 * Test helpers that use runes (loaded through ./runes.ts with the modules under test): a
 * state class is made as a view's script makes it, inside an effect root, so its effects run.
 */
import { flushSync } from 'svelte';

export interface Mounted<T> {
  value: T;
  /** Tears the effects down, as when the view is left. */
  destroy(): void;
}

/** Makes `make()` inside an effect root (its $effects run, as in a component) and runs the first effects. */
export function mount<T>(make: () => T): Mounted<T> {
  let value!: T;
  const destroy = $effect.root(() => {
    value = make();
  });
  flushSync();
  return { value, destroy };
}

/** A turn of the event loop that also lets timers of 1 ms (short debounces in the tests) fire. */
const nextTurn = () => new Promise<void>((ok) => setTimeout(ok, 2));

/** Lets effects run, the promises they started settle (fake API calls answer at once) and 1 ms timers fire. */
export async function settle(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    flushSync();
    await nextTurn();
  }
  flushSync();
}

export { flushSync };
