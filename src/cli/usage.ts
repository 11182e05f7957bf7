// Bad usage or bad input: the CLI prints `luv <cmd>: <message>` on one line and exits 2.

export class UsageError extends Error {
  constructor(
    readonly cmd: string,
    message: string,
  ) {
    super(message)
    this.name = 'UsageError'
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

/** node:util parseArgs errors → one line without its advice about `--`. */
export function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string }
  const quoted = /'([^']+)'/.exec(err.message ?? '')?.[1]
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted}'`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return (err.message ?? '').split('\n')[0].replace(/\.$/, '')
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}'`
    default:
      throw e
  }
}
