export * from './errors.js';
export * from './names.js';
export * from './schemas.js';
export * from './sse.js';
export * from './frames.js';
export * from './groups.js';
export * from './broker-info.js';
export * from './transactions.js';
