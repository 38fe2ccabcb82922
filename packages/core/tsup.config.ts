import { libraryConfig } from '../../tsup.shared.ts';

// One shared chunk for both entries in both formats: no second copy of module state for CommonJS users of the subpath.
export default libraryConfig(['src/index.ts', 'src/adapter.ts'], { splitting: true, clean: false });
