// Collects every validation problem of one resource, each prefixed with the field path
// (`route_config.virtual_hosts[2].routes[0].match: ...`), so one NACK names all of them.

export class Problems {
  readonly errors: string[] = [];

  add(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }

  get count(): number {
    return this.errors.length;
  }
}
