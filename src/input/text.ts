// Strings from files on their way to a terminal or a report: control characters (an ESC that
// clears the screen and prints a fake verdict, a CR that overwrites the line) are shown as
// escapes, and a long value is cut to a bounded excerpt.

/** C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

const escapeChar = (ch: string): string => {
  const c = ch.charCodeAt(0)
  if (ch === '\n') return '\\n'
  if (ch === '\t') return '\\t'
  if (ch === '\r') return '\\r'
  if (c === 0x1b) return '\\e'
  return c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`
}

/** `s` with every control character escaped, cut to `max` characters (with an ellipsis). */
export function safeText(s: string, max = Infinity): string {
  const e = s.replace(UNSAFE, escapeChar)
  return e.length > max ? `${e.slice(0, Math.max(0, max - 3))}...` : e
}

/** True when `s` holds something a terminal would interpret. */
export const hasUnsafe = (s: string): boolean => new RegExp(UNSAFE.source).test(s)

/** A value as a short JSON excerpt for messages (at most `max` characters, controls escaped). */
export function excerpt(v: unknown, max = 60): string {
  let s: string | undefined
  try {
    s = typeof v === 'bigint' ? `${v}` : JSON.stringify(v)
  } catch {
    s = undefined
  }
  if (s === undefined) s = String(v)
  // a huge value is cut before escaping, so the work is bounded too
  if (s.length > 4 * max) s = s.slice(0, 4 * max)
  return safeText(s, max)
}

/** A path as messages show it: as it is, or quoted (and escaped) when blank or holding spaces. */
export const showPath = (p: string): string => (p !== '' && /^[^\s"]+$/.test(p) ? safeText(p, 200) : excerpt(p, 200))
