// The cases of tracing.e2e.test.ts with the mesh's spans recorded natively
// (tracing.spanProcessors) into the same span processor the application's SDK TracerProvider uses.
process.env.INBOARD_MESH_SPANS = 'native';
await import('./tracing.e2e.test.ts');
