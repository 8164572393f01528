// Scopes: `tidy` frees every tensor made inside it except what it returns (so a training step
// gives all its memory back), and `noGrad` turns off graph recording (for evaluation).

interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

class Scope {
  readonly tensors: Disposable[] = [];
  track(t: Disposable): void {
    this.tensors.push(t);
  }
}

const scopes: Scope[] = [];
let gradDepth = 0;

export function currentScope(): Scope | undefined {
  return scopes[scopes.length - 1];
}

export function gradEnabled(): boolean {
  return gradDepth === 0;
}

/**
 * Runs `fn`; afterwards disposes every tensor created inside it except those it returns (a
 * tensor, or an array or object of tensors), which move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    for (const t of scope.tensors) t.dispose();
    throw error;
  } finally {
    scopes.pop();
  }
  const kept = new Set<unknown>();
  collect(result, kept);
  const parent = currentScope();
  for (const t of scope.tensors) {
    if (kept.has(t)) parent?.track(t);
    else t.dispose();
  }
  return result;
}

function collect(value: unknown, into: Set<unknown>): void {
  if (value && typeof value === "object") {
    if ("dispose" in value && "isDisposed" in value) into.add(value);
    else if (Array.isArray(value)) value.forEach((v) => collect(v, into));
    else if (Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach((v) => collect(v, into));
  }
}

/** Runs `fn` without recording the graph: outputs do not require gradients. */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  try {
    return fn();
  } finally {
    gradDepth--;
  }
}
