// Design files: a design alternative described as JSON, compared with the profiles without
// writing code (`luv compare --design FILE`). The schema is built from models/design.ts at run
// time, so every profile, axis and option there is accepted and nothing else is.
//
//   {
//     "name": "strict-claim",
//     "description": "mainline's claim rule: EBUSY while a restored domain is attached",
//     "profile": "lpc2025",
//     "axes": { "ownership": "strict" }
//   }
//
// A bad file is an InputError naming the file and the field (exit 2), before anything runs.

import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { AXES, AXIS_NAMES, PROFILE_NAMES, resolveDesign, type ProfileName } from '../../models/design.ts'
import { InputError } from '../campaign/errors.ts'
import { fieldPath } from '../scenario/error.ts'
import { designLabel, overridesOf, slug, type DesignRow } from './designs.ts'

export const DESIGN_FILE_FORMAT = 'luv-design'

/** Names are folder names and junit suite names: letters, digits, `.`, `_`, `-`. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** The design-file schema for the profiles and axes models/design.ts has now. */
export function designFileSchema() {
  const axes: Record<string, z.ZodType> = {}
  for (const a of AXIS_NAMES) {
    const options = AXES[a] as readonly string[]
    axes[a] = z
      .string({ error: `expected one of ${options.join(', ')}` })
      .refine((v) => options.includes(v), {
        error: (iss) => `unknown option '${String(iss.input)}' for axis '${a}' (known: ${options.join(', ')})`,
      })
      .optional()
  }
  return z
    .object({
      $schema: z.string().optional(),
      name: z
        .string({ error: 'expected a string' })
        .regex(NAME_RE, { error: 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit' }),
      description: z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty description' }),
      profile: z.string({ error: 'expected a string' }).refine((p) => (PROFILE_NAMES as readonly string[]).includes(p), {
        error: (iss) => `unknown profile '${String(iss.input)}' (known: ${PROFILE_NAMES.join(', ')})`,
      }),
      axes: z
        .object(axes)
        .strict()
        .optional()
        .default({}),
    })
    .strict()
}

export interface DesignFile {
  name: string
  description: string
  profile: ProfileName
  axes: Record<string, string>
}

/** `at line 3 column 14` for a JSON.parse error that names a position. */
function jsonErrorWhere(text: string, message: string): string {
  const m = /position (\d+)/.exec(message)
  if (!m) return message
  const pos = Number(m[1])
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const col = pos - before.lastIndexOf('\n')
  return `${message.replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, '')} at line ${line} column ${col}`
}

/** Validate a parsed design file; `source` names it in errors. */
export function parseDesignFile(json: unknown, source: string): DesignFile {
  const parsed = designFileSchema().safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    let field = fieldPath(issue.path)
    let message = issue.message
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys
      const inAxes = issue.path.length === 1 && issue.path[0] === 'axes'
      field = [field, keys[0]].filter(Boolean).join('.')
      message = inAxes
        ? `unknown design axis '${keys[0]}' (known: ${AXIS_NAMES.join(', ')})`
        : `unknown field '${keys[0]}' (a design file has name, description, profile and axes)`
    } else if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined && issue.path.length === 1) {
      message = `missing (a design file has name, description, profile and axes)`
    } else if (issue.code === 'invalid_type' && issue.path.length === 0) {
      message = 'expected a JSON object with name, description, profile and axes'
    }
    throw new InputError(`${source}: ${field ? `${field}: ` : ''}${message}`)
  }
  const d = parsed.data as { name: string; description: string; profile: string; axes: Record<string, string> }
  return { name: d.name, description: d.description, profile: d.profile as ProfileName, axes: d.axes }
}

/** Read and validate a design file. */
export function loadDesignFile(path: string): DesignFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message
    throw new InputError(`--design ${path}: cannot read (${why})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new InputError(`${path}: invalid JSON: ${jsonErrorWhere(text, (e as Error).message).replace(/\s+/g, ' ')}`)
  }
  return parseDesignFile(json, path)
}

/** The matrix row of a design file. */
export function fileRow(f: DesignFile, source: string): DesignRow {
  const design = resolveDesign({ profile: f.profile, overrides: f.axes })
  const overrides = overridesOf(design, f.profile)
  return {
    id: `design-${slug(f.name)}`,
    label: f.name,
    kind: 'file',
    profile: f.profile,
    overrides,
    design,
    description: f.description,
    source,
  }
}

/** `name (lpc2025 ownership=strict)`: what a design file's row is, for prose. */
export const fileRowText = (r: DesignRow): string => `${r.label} (${designLabel(r.profile, r.overrides)})`
