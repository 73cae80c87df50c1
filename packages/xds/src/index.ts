export * from './errors.ts';
export * from './logger.ts';
export * from './clock.ts';
export type * from './resources/model.ts';
