// A bad OutboundMesh option, named, with what was expected: thrown by the constructor, before
// anything starts.
import { InboardError } from '@inboard/xds';

export class MeshOptionError extends InboardError {
  /** the option's name in OutboundMeshOptions */
  readonly option: string;
  constructor(option: string, message: string) {
    super('INBOARD_HTTP_OPTION_INVALID', `OutboundMesh option ${option}: ${message}`);
    this.option = option;
  }
}
