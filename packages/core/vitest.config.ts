import { packageProject } from '../../vitest.shared.ts';

export default packageProject('core', { typeTests: true });
