export * from './common';
export * from './errors';
export * from './catalog';
export * from './jobs';
export * from './tasks';
export * from './socket';
export * from './validators';
