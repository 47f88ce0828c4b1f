export * from './secrets.js';
export * from './services.js';
export * from './settings.js';
export * from './tls.js';
export * from './values.js';
export * from './replica-acks.js';
