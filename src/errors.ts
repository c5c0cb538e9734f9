/** An error caused by the user's input (a bad file, a bad flag): printed as one line, no stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}
