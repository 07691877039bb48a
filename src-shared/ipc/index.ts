export * from './contract';
export * from './errors';
export * from './wire';
export * from './client';
export * from '../types/records';
export * from '../types/grid';
export * from '../types/jobs';
export * from '../types/gis';
