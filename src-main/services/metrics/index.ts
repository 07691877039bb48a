export * from './series';
export * from './spatial';
export * from './eof';
export * from './maps';
export * from './summary';
