// Bad usage or bad input found by the campaign, merge or replay logic: one line naming what is
// wrong and where. The CLI turns it into `luv <cmd>: <message>` and exit code 2, before
// anything is written.

export class InputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InputError'
  }
}
