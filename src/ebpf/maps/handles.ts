/**
 * Numbers that stand for VM objects where the kernel would use an fd or an id: the value a
 * program array or a map of maps holds. In the VM a map's or program's fd and id are one number.
 */

const objects = new Map<number, object>();
const handles = new WeakMap<object, number>();
let nextHandle = 1;

/** The handle of `obj`, assigned on first use (stable until {@link releaseHandle}). */
export function handleOf(obj: object): number {
  let h = handles.get(obj);
  if (h === undefined) {
    h = nextHandle++;
    handles.set(obj, h);
    objects.set(h, obj);
  }
  return h;
}

/** The object a handle stands for, if it is still open. */
export function objectOfHandle(handle: number): object | undefined {
  return objects.get(handle);
}

/** Forgets `obj`'s handle (on close), so the handle no longer resolves. */
export function releaseHandle(obj: object): void {
  const h = handles.get(obj);
  if (h !== undefined) objects.delete(h);
}
