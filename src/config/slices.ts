/**
 * Work done on the event loop in slices: a generator yields after each small step, and
 * `runInSlices` gives the event loop back (setImmediate, so pending I/O is served first)
 * whenever a slice has run for `sliceMs`. Installing a large config this way never holds
 * other requests for more than about a slice.
 */

/** Long enough that slicing costs little, short enough that no request notices. */
export const SLICE_MS = 2;

/** Runs `steps` to completion synchronously (for callers that cannot wait). */
export function runToEnd<T>(steps: Generator<unknown, T, undefined>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Runs `steps` to completion, yielding to the event loop every `sliceMs` milliseconds. */
export async function runInSlices<T>(steps: Generator<unknown, T, undefined>, sliceMs = SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
