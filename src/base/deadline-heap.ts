/**
 * Base: the min-heap step shared by the earliest-deadline-first schedulers (LB_WEIGHTED_ROUNDROBIN,
 * LB_LEAST_REQUEST with unequal weights). `heap` holds indices; `deadline[i]` orders them, ties go
 * to the lower index so schedules are deterministic. Allocation-free, for the per-pick hot path.
 */
/** A plain array or a typed array (Int32Array, Float64Array…). */
export interface NumberArray { readonly length: number; [index: number]: number }

export function siftDownByDeadline(heap: NumberArray, deadline: ArrayLike<number>, at: number): void {
  const n = heap.length;
  let i = at;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) return;
    const r = l + 1;
    let m = l;
    if (r < n && earlier(deadline, heap[r]!, heap[l]!)) m = r;
    if (!earlier(deadline, heap[m]!, heap[i]!)) return;
    const t = heap[i]!;
    heap[i] = heap[m]!;
    heap[m] = t;
    i = m;
  }
}

function earlier(deadline: ArrayLike<number>, a: number, b: number): boolean {
  const da = deadline[a]!;
  const db = deadline[b]!;
  return da < db || (da === db && a < b);
}
