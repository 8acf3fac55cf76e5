export * from './ingest.ts';
export * from './text.ts';
