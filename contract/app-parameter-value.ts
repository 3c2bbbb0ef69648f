import { Type, type Static } from 'typebox';
import { StrictObject, TaggedUnion } from './common';

// Its own file because both catalog.ts (defaultValue) and jobs.ts (parameters, resources) need it.

export const TextValue = StrictObject({ type: Type.Literal('text'), value: Type.String() });
export const IntegerValue = StrictObject({ type: Type.Literal('integer'), value: Type.Integer() });
export const FloatingPointValue = StrictObject({ type: Type.Literal('floating_point'), value: Type.Number() });
export const BooleanValue = StrictObject({ type: Type.Literal('boolean'), value: Type.Boolean() });
export const FileValue = StrictObject({ type: Type.Literal('file'), path: Type.String(), readOnly: Type.Boolean() });
export const PeerValue = StrictObject({ type: Type.Literal('peer'), hostname: Type.String(), jobId: Type.String() });

export const AppParameterValue = TaggedUnion('parameter type', [
  TextValue,
  IntegerValue,
  FloatingPointValue,
  BooleanValue,
  FileValue,
  PeerValue,
]);
export type AppParameterValue = Static<typeof AppParameterValue>;
export type AppParameterValueType = AppParameterValue['type'];
export type TextValue = Static<typeof TextValue>;
export type IntegerValue = Static<typeof IntegerValue>;
export type FloatingPointValue = Static<typeof FloatingPointValue>;
export type BooleanValue = Static<typeof BooleanValue>;
export type FileValue = Static<typeof FileValue>;
export type PeerValue = Static<typeof PeerValue>;
