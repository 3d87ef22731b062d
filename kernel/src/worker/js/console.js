// The vat's `console`, as upstream vat code expects one. Output goes to the host through
// `__console(level, text)`, which keeps it out of consensus state: the kernel writes it to
// the slog for live deliveries and drops it in replay. Formatting is plain and
// deterministic (no addresses, no timing), and nothing here can throw into the vat.
const rawConsole = globalThis.__console;
delete globalThis.__console;

const MAX_DEPTH = 3;
const MAX_ITEMS = 50;

const show = (v, depth, seen) => {
  switch (typeof v) {
    case 'string':
      return depth === 0 ? v : JSON.stringify(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function':
      return `[Function ${v.name || '(anonymous)'}]`;
    case 'object':
      break;
    default:
      return String(v);
  }
  if (v === null) return 'null';
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (seen.includes(v)) return '[Circular]';
  const tag = v[Symbol.toStringTag];
  if (depth >= MAX_DEPTH) return Array.isArray(v) ? '[Array]' : `[${tag || 'Object'}]`;
  const inner = [...seen, v];
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ITEMS).map((x) => show(x, depth + 1, inner));
    if (v.length > MAX_ITEMS) items.push(`… ${v.length - MAX_ITEMS} more`);
    return `[${items.join(', ')}]`;
  }
  const keys = Reflect.ownKeys(v).filter((k) => typeof k === 'string');
  const items = keys
    .slice(0, MAX_ITEMS)
    .map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${show(v[k], depth + 1, inner)}`);
  if (keys.length > MAX_ITEMS) items.push(`… ${keys.length - MAX_ITEMS} more`);
  const prefix = tag ? `${tag} ` : '';
  return `${prefix}{${items.length ? ` ${items.join(', ')} ` : ''}}`;
};

const format = (args) =>
  args
    .map((a) => {
      try {
        return show(a, 0, []);
      } catch {
        return '[unprintable]';
      }
    })
    .join(' ');

let indent = '';
const emit = (level) => (...args) => {
  try {
    rawConsole(level, indent + format(args));
  } catch {
    // Out of computrons: the delivery fails anyway; the vat's own code must not see it.
  }
};
const counts = new Map();

export const console = {
  log: emit('log'),
  info: emit('info'),
  warn: emit('warn'),
  error: emit('error'),
  debug: emit('debug'),
  trace: emit('trace'),
  dir: emit('log'),
  dirxml: emit('log'),
  table: emit('log'),
  assert: (cond, ...args) => {
    if (!cond) emit('error')('Assertion failed', ...args);
  },
  group: (...args) => {
    if (args.length) emit('log')(...args);
    indent += '  ';
  },
  groupCollapsed: (...args) => {
    if (args.length) emit('log')(...args);
    indent += '  ';
  },
  groupEnd: () => {
    indent = indent.slice(2);
  },
  count: (label = 'default') => {
    const n = (counts.get(label) ?? 0) + 1;
    counts.set(label, n);
    emit('log')(`${label}: ${n}`);
  },
  countReset: (label = 'default') => {
    counts.delete(label);
  },
  // No clock in a vat: timers print their label only.
  time: () => {},
  timeLog: (label = 'default', ...args) => emit('log')(`${label}:`, ...args),
  timeEnd: (label = 'default') => emit('log')(`${label}: timer ended`),
};
globalThis.console = console;
