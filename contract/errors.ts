import { Type, type Static } from 'typebox';
import { Maybe, StrictObject } from './common';

export const CommonErrorMessage = StrictObject({
  why: Type.String(),
  errorCode: Maybe(Type.String()),
});
export type CommonErrorMessage = Static<typeof CommonErrorMessage>;

export const ErrorCodes = {
  duplicateJob: 'DUPLICATE_JOB',
} as const;
