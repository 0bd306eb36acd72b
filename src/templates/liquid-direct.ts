import { Context, Drop, Output, toValueSync, TypeGuards, type Emitter, type Template } from 'liquidjs';

// liquidjs renders every node through a chain of generators (output → value → expression → token
// → property → scope, and one per filter), so that one engine serves sync and async rendering. A
// message's HTML has dozens of outputs ({{ order.total | money: order.currency }}, a track_link on
// every href), and that machinery was most of the render's cost on the delivery path. Here the
// plain text nodes and the outputs of the common shape (a variable path or a literal, then
// filters whose arguments are of the same kind) get a direct render function in their place,
// which reads the data and calls the same filter functions in the same order. Anything else, or
// any value that is not plain data (a drop, a function, an async render), goes through
// liquidjs's own render unchanged, before anything has been written or any filter called.

const GENERIC = Symbol('generic');
type Read = (ctx: Context) => unknown;

type RenderFn = (ctx: Context, emitter: Emitter) => unknown;
interface Patchable {
  render: RenderFn;
}

const done = new WeakSet<Template[]>();

// Context.findScope is not in liquidjs's typings (readProperty is). Both are checked once here: a
// liquidjs without them renders every node its own way.
interface ScopeFinder {
  findScope(key: string | number): unknown;
}
const usable = typeof (Context.prototype as unknown as Partial<ScopeFinder>).findScope === 'function' && typeof Context.prototype.readProperty === 'function';

/** Gives the nodes of a parsed template (its tags' branches included) direct render functions; once per template. */
export function renderDirectly(template: Template[]): void {
  if (!usable || done.has(template)) return;
  done.add(template);
  for (const node of template) patchNode(node);
}

// Nodes already given a direct render: one reached twice (through two lists) keeps liquidjs's
// render as its fallback, never a direct one.
const patched = new WeakSet<Template>();

function patchNode(node: Template): void {
  if (patched.has(node)) return;
  patched.add(node);
  if (node instanceof Output) {
    patchOutput(node);
    return;
  }
  if (TypeGuards.isHTMLToken(node.token) && typeof (node as unknown as { str?: unknown }).str === 'string') {
    (node as unknown as Patchable).render = function (this: { str: string }, _ctx: Context, emitter: Emitter) {
      emitter.write(this.str);
    };
    return;
  }
  // A tag: its children, where liquidjs's block tags keep them (if/unless/case: branches; for,
  // capture, tablerow: templates; an else: elseTemplates). A tag of another shape keeps its
  // children as they are: rendered by liquidjs, correct and only slower.
  const tag = node as unknown as { templates?: unknown; elseTemplates?: unknown; branches?: unknown };
  for (const list of [tag.templates, tag.elseTemplates]) if (Array.isArray(list)) renderDirectly(list as Template[]);
  if (Array.isArray(tag.branches)) for (const b of tag.branches as { templates?: unknown }[]) if (Array.isArray(b?.templates)) renderDirectly(b.templates as Template[]);
}

function patchOutput(output: Output): void {
  const value = output.value as unknown as { initial: { postfix: unknown[] }; filters: { handler: (...args: unknown[]) => unknown; token: unknown; liquid: unknown; args: unknown[] }[] };
  const postfix = value.initial.postfix;
  if (postfix.length !== 1) return;
  const initial = reader(postfix[0]);
  if (!initial) return;
  const filters = value.filters.map((f) => ({ f, args: f.args.map((a) => (Array.isArray(a) ? { key: a[0] as string, read: reader(a[1]) } : { key: null, read: reader(a) })) }));
  if (filters.some((x) => x.args.some((a) => a.read === null))) return;
  const generic = output.render.bind(output) as RenderFn;

  (output as unknown as Patchable).render = (ctx: Context, emitter: Emitter) => {
    // Async renders and strict variables keep liquidjs's path (awaited filters, undefined-variable errors).
    if (!ctx.sync || ctx.strictVariables) return generic(ctx, emitter);
    // Every read first: side-effect free, so a value that is not plain data can still go back to liquidjs.
    let val = initial(ctx);
    if (val === GENERIC) return generic(ctx, emitter);
    const argvs: unknown[][] = [];
    for (const { args } of filters) {
      const argv: unknown[] = [val];
      for (const a of args) {
        const v = a.read!(ctx);
        if (v === GENERIC) return generic(ctx, emitter);
        argv.push(a.key === null ? v : [a.key, v]);
      }
      argvs.push(argv);
    }
    for (let i = 0; i < filters.length; i++) {
      const { f } = filters[i]!;
      const argv = argvs[i]!;
      argv[0] = val;
      val = settle(f.handler.apply({ context: ctx, token: f.token, liquid: f.liquid }, argv));
    }
    emitter.write(settle(val instanceof Drop && typeof val.valueOf === 'function' ? val.valueOf() : val));
    return undefined;
  };
}

// What liquidjs's sync driver does with a value a step yields: runs a generator to its end, refuses a promise.
function settle(v: unknown): unknown {
  if (isIterator(v)) return toValueSync(v);
  if (isThenable(v)) throw new Error('async functions cannot be called synchronously');
  return v;
}

function isThenable(v: unknown): boolean {
  return !!v && typeof (v as { then?: unknown }).then === 'function';
}

function isIterator(v: unknown): v is IterableIterator<unknown> {
  const it = v as { next?: unknown; throw?: unknown; return?: unknown } | null;
  return !!it && typeof it.next === 'function' && typeof it.throw === 'function' && typeof it.return === 'function';
}

// A token's value as liquidjs's evalToken gives it, or null for a token of another kind: a literal
// (string, number, true/false/nil…) is its content; a variable path `a.b[0]["c"]` is read below.
function reader(token: unknown): Read | null {
  if (token && typeof token === 'object' && 'content' in token) {
    const content = (token as { content: unknown }).content;
    return () => content;
  }
  if (!TypeGuards.isPropertyAccessToken(token as never)) return null;
  const access = token as unknown as { variable?: unknown; props: unknown[] };
  if (access.variable) return null;
  const paths: (string | number)[] = [];
  for (const p of access.props) {
    const c = p && typeof p === 'object' && 'content' in p ? (p as { content: unknown }).content : undefined;
    if (typeof c !== 'string' && typeof c !== 'number') return null;
    paths.push(c);
  }
  if (paths.length === 0) return null;
  return (ctx) => readPath(ctx, paths);
}

// Context._get without its generators: the scope that has the first name, then each property
// through ctx.readProperty (own properties only, size/first/last, negative indexes). GENERIC for
// anything readProperty would call or convert (a drop, a function, toLiquid).
function readPath(ctx: Context, paths: readonly (string | number)[]): unknown {
  let scope: unknown = (ctx as unknown as ScopeFinder).findScope(paths[0]!);
  for (const key of paths) {
    if (scope !== null && scope !== undefined) {
      if (scope instanceof Drop) return GENERIC;
      const o = scope as Record<string | number, unknown>;
      if (typeof o.toLiquid === 'function' || typeof o[key] === 'function') return GENERIC;
    }
    scope = ctx.readProperty(scope as object, key as string);
    if (isIterator(scope) || isThenable(scope)) return GENERIC;
  }
  return scope;
}
