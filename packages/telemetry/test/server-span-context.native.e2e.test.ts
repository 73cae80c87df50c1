// The cases of server-span-context.e2e.test.ts with the mesh's spans recorded natively
// (tracing.spanProcessors) into the same span processor the application's SDK TracerProvider uses.
process.env.INBOARD_MESH_SPANS = 'native';
await import('./server-span-context.e2e.test.ts');
