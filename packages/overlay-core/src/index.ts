export * from './config/capacity.js';
export * from './config/load.js';
export * from './config/types.js';
export * from './config/validate.js';
export * from './ipam/errors.js';
export * from './ipam/ipam.js';
export * from './ipam/state-json.js';
export * from './net/cidr.js';
