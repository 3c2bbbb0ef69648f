/** An error that becomes `{why, errorCode}` with its status (contract §0). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly why: string,
    readonly errorCode: string | null = null,
    /** Sent as `Retry-After` (a 503 of load shedding). */
    readonly retryAfterS: number | null = null,
  ) {
    super(why);
  }
}

export const badRequest = (why: string, errorCode: string | null = null) => new HttpError(400, why, errorCode);
export const unauthorized = (why = 'A valid bearer token is required') => new HttpError(401, why);
export const forbidden = (why: string) => new HttpError(403, why);
export const notFound = (why: string) => new HttpError(404, why);
export const conflict = (why: string, errorCode: string | null = null) => new HttpError(409, why, errorCode);
